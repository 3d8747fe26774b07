"""A real Git smart-HTTP server on 127.0.0.1 that asks for HTTP Basic authentication, for the
tests of fetching private repositories with a username and a personal access token.

Every request without the expected credentials is answered 401 with
`WWW-Authenticate: Basic realm="git"`, as GitHub or GitLab answer for a private repository;
the others are handed to `git http-backend` run as a CGI program, so the client talks to the
same smart protocol (v0 or v2) as against a real host. The yielded URL records which paths
were refused and which were served, so that a test can assert that the credentials were asked
for and that the fetch went through.

Standard library only, so the suite needs nothing beyond the `git` command.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

REALM = "git"
# Response headers that describe the CGI program's framing, not ours: the body is buffered
# and sent with our own Content-Length.
HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class ServedUrl(str):
    """The server's base URL, e.g. "http://127.0.0.1:PORT", with what it did: the request
    paths (with their query) refused for missing or wrong credentials, and those served."""

    refused: list[str]
    served: list[str]

    def __new__(cls, url: str) -> ServedUrl:
        made = super().__new__(cls, url)
        made.refused = []
        made.served = []
        return made


class _GitHttpServer(ThreadingHTTPServer):
    def __init__(self, base: Path, username: str, password: str) -> None:
        super().__init__(("127.0.0.1", 0), _GitHttpHandler)
        self.base = base
        self.credentials = f"{username}:{password}".encode()
        self.url = ServedUrl(f"http://127.0.0.1:{self.server_address[1]}")
        self.lock = threading.Lock()


class _GitHttpHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that git (curl) keeps its connection between the 401 and the retry with
    # credentials, and so that `Expect: 100-continue` on large POSTs is answered at once
    # instead of after curl's one-second wait.
    protocol_version = "HTTP/1.1"
    # A handler thread waits on its kept-alive connection until the client closes it, and
    # `server_close` joins those threads: a client that never closes must not hang the test.
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: the tests' output is theirs

    def do_GET(self) -> None:
        self.handle_git()

    def do_POST(self) -> None:
        self.handle_git()

    @property
    def git_server(self) -> _GitHttpServer:
        assert isinstance(self.server, _GitHttpServer)
        return self.server

    def handle_git(self) -> None:
        # Read the body first, even for a request about to be refused: on a kept-alive
        # connection an unread body would be taken for the next request.
        body = self.read_body()
        server = self.git_server
        if not self.authorized():
            with server.lock:
                server.url.refused.append(self.path)
            self.send_plain(401, b"authentication required\n",
                            {"WWW-Authenticate": f'Basic realm="{REALM}"'})
            return
        with server.lock:
            server.url.served.append(self.path)
        self.run_backend(body)

    def authorized(self) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.git_server.credentials)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_chunked(self) -> bytes:
        """The body sent with `Transfer-Encoding: chunked` (git does so for pushes and fetches
        larger than `http.postBuffer`): the chunks joined, the trailer dropped."""
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline()
            if not size_line:
                raise ConnectionError("the client closed the connection inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF that ends each chunk
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields, unused
        return b"".join(chunks)

    def path_info(self, path: str) -> str:
        """The repository path as `git http-backend` wants it: a working repository
        `base/repo` (not bare) is served from `base/repo/.git`, so `/repo/...` becomes
        `/repo/.git/...`; `/repo/.git/...` and bare `/name.git/...` are left as they are."""
        first, _, rest = unquote(path).lstrip("/").partition("/")
        if rest != ".git" and not rest.startswith(".git/") \
                and (self.git_server.base / first / ".git").is_dir():
            return f"/{first}/.git/{rest}"
        return f"/{first}/{rest}"

    def cgi_env(self, body: bytes) -> dict[str, str]:
        split = urlsplit(self.path)
        # The test process's own GIT_* settings (GIT_DIR, GIT_CONFIG_*...) would send the
        # backend to another repository or configuration.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({
            "GIT_PROJECT_ROOT": str(self.git_server.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "headwater-tests",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": self.path_info(split.path),
            "QUERY_STRING": split.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),  # of the decoded body, if it came chunked
            "REMOTE_USER": self.git_server.credentials.decode().partition(":")[0],
            "REMOTE_ADDR": self.client_address[0],
            "AUTH_TYPE": "Basic",
        })
        if encoding := self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = encoding  # gzip: the backend inflates it
        if protocol := self.headers.get("Git-Protocol"):
            # `version=2`: the backend reads HTTP_GIT_PROTOCOL and passes it on to
            # upload-pack as GIT_PROTOCOL; both are set so either reading works.
            env["HTTP_GIT_PROTOCOL"] = protocol
            env["GIT_PROTOCOL"] = protocol
        return env

    def run_backend(self, body: bytes) -> None:
        done = subprocess.run(["git", "http-backend"], input=body, capture_output=True,
                              env=self.cgi_env(body), check=False)
        head, body_out = split_cgi(done.stdout)
        if head is None:
            message = done.stderr or b"git http-backend gave no response\n"
            self.send_plain(500, message, {})
            return
        status = 200
        headers: list[tuple[str, str]] = []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "status":
                status = int(value.split()[0])
            elif name.strip() and name.strip().lower() not in HOP_BY_HOP:
                headers.append((name.strip(), value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body_out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body_out)

    def send_plain(self, status: int, text: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)


def split_cgi(output: bytes) -> tuple[bytes | None, bytes]:
    """A CGI program's output split into its header block and its body; (None, output)
    when there is no blank line ending the headers."""
    ends = [(at, len(mark)) for mark in (b"\r\n\r\n", b"\n\n") if (at := output.find(mark)) >= 0]
    if not ends:
        return None, output
    at, length = min(ends)
    return output[:at], output[at + length:]


@contextmanager
def git_http_server(base: Path, username: str, password: str) -> Iterator[ServedUrl]:
    """Serve the Git repositories under `base` over smart HTTP on 127.0.0.1 (a free port),
    answering 401 with `WWW-Authenticate: Basic realm="git"` unless the request carries
    Basic credentials `username`:`password`; yields the base URL, e.g. "http://127.0.0.1:PORT"
    (a `ServedUrl`, with the paths refused and served), so that
    `git clone http://127.0.0.1:PORT/repo` (or `/repo/.git`) clones `base/repo`.

    Git asks its credential helper only after a 401, so even a fetch with the right
    credentials leaves its first request in `refused`."""
    server = _GitHttpServer(base, username, password)
    thread = threading.Thread(target=server.serve_forever, name="git-http", daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
