"""Alert receivers for chaos rounds, on loopback: a webhook sink that can hang, and an SMTP
server that accepts (aiosmtpd) or refuses every message."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"


@dataclass
class WebhookSink:
    """Records the dedupe key of every POST it answered 200; the first `hang` requests get
    no answer for `hang_seconds` (longer than the sender's timeout), then the connection
    closes unanswered and unrecorded."""

    hang: int = 0
    hang_seconds: float = 3.0
    keys: Counter[str] = field(default_factory=Counter)
    hung: int = 0
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> ThreadingHTTPServer:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with sink._lock:
                    hang = sink.hung < sink.hang
                    sink.hung += hang
                if hang:
                    time.sleep(sink.hang_seconds)
                    self.close_connection = True
                    return
                with sink._lock:
                    sink.keys[str(body.get("dedupe_key"))] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


class AcceptingSmtp:
    """An SMTP server that takes every message (and counts them by dedupe key)."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        with socket.socket() as probe:
            probe.bind((LOOPBACK, 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(self, hostname=LOOPBACK, port=self.port)
        self.controller.start()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.content.decode("utf-8", "replace")
        for line in content.splitlines():
            if line.lower().startswith("x-headwater-dedupe-key:"):
                self.keys[line.split(":", 1)[1].strip()] += 1
        return "250 OK"

    def stop(self) -> None:
        self.controller.stop()


class RefusingSmtp:
    """An SMTP server that greets every client with 554 and hangs up."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(16)
        self.port = int(self.listener.getsockname()[1])
        self.refused = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                client.sendall(b"554 5.3.2 no service here (chaos)\r\n")
                self.refused += 1

    def stop(self) -> None:
        self.listener.close()
