"""A local catcher for the example's alerts: an SMTP server and an HTTP server on loopback
that print what they receive. `make run` starts it beside the job; headwater.yml points the
example's e-mail and webhook destinations here.

    python alert_catcher.py [--smtp-port 18025] [--http-port 18026] [--log FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread


def say(line: str, log: str | None) -> None:
    print(f"[alert catcher] {line}", flush=True)
    if log:
        with open(log, "a") as f:
            f.write(line + "\n")


class Hook(BaseHTTPRequestHandler):
    log_file: str | None = None

    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            data = json.loads(body)
            text = data.get("summary") or data.get("text") or body.decode()
        except ValueError:
            text = body.decode(errors="replace")
        say(f"webhook {self.path}: {text}", self.log_file)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def smtp_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       log: str | None) -> None:
    """Just enough SMTP (RFC 5321) to accept one or more messages."""
    writer.write(b"220 catcher ESMTP\r\n")
    recipients: list[str] = []
    while line := await reader.readline():
        verb = line.decode(errors="replace").strip().split(" ")[0].upper()
        if verb in ("HELO", "EHLO"):
            writer.write(b"250 catcher\r\n")
        elif verb == "RCPT":
            recipients.append(line.decode().split(":", 1)[1].strip().strip("<>"))
            writer.write(b"250 OK\r\n")
        elif verb == "DATA":
            writer.write(b"354 end with .\r\n")
            await writer.drain()
            data = b""
            while (chunk := await reader.readline()) not in (b".\r\n", b".\n", b""):
                data += chunk
            mail = message_from_bytes(data)
            say(f"e-mail to {', '.join(recipients)}: {mail['Subject']}", log)
            recipients = []
            writer.write(b"250 OK queued\r\n")
        elif verb == "QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:  # MAIL, RSET, NOOP
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smtp-port", type=int, default=18025)
    parser.add_argument("--http-port", type=int, default=18026)
    parser.add_argument("--log")
    args = parser.parse_args()
    Hook.log_file = args.log
    try:
        http = ThreadingHTTPServer(("127.0.0.1", args.http_port), Hook)
        smtp = await asyncio.start_server(lambda r, w: smtp_session(r, w, args.log),
                                          "127.0.0.1", args.smtp_port)
    except OSError as error:
        sys.exit(f"[alert catcher] cannot listen: {error}; alerts will be retried later")
    Thread(target=http.serve_forever, daemon=True).start()
    say(f"listening: SMTP 127.0.0.1:{args.smtp_port}, HTTP 127.0.0.1:{args.http_port}", None)
    async with smtp:
        await smtp.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
