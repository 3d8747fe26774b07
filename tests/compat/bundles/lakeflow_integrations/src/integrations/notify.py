def send(channel: str, text: str) -> None:
    print(f"would send {text!r} to {channel}")
