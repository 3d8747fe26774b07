"""The Files API on the wire (api/routes/files.py), as plain HTTP clients and the SDK's
resumed downloads use it: a file's bytes kept as sent (a NUL, JSON, nothing at all), one byte
range at a time, `If-Unmodified-Since`, `HEAD` without a body, page tokens, and uploads that
are refused or cut short leave nothing."""

from __future__ import annotations

import http.client
import json
import socket
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from tests.servers import Reply, Server, wait_for

from headwater.api.errors import ApiError
from headwater.api.routes.files import byte_range

FOLDER = "/Volumes/main/raw/wire"
OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    return server.token("ana")


def put(server: Server, token: str, path: str, data: bytes, query: str = "") -> Reply:
    return server.call("PUT", f"/api/2.0/fs/files{path}{query}", raw=data, token=token,
                       headers=OCTETS)


def get_bytes(server: Server, token: str, path: str,
              headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A download's status, headers and bytes as they came (`Server.call` reads text)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("GET", f"/api/2.0/fs/files{path}",
                           headers={"Authorization": f"Bearer {token}", **(headers or {})})
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        connection.close()


def on_disk(server: Server, path: str) -> Path:
    return server.settings().dbfs_dir / path.lstrip("/")


@pytest.mark.parametrize(("header", "size", "answer"), [
    (None, 10, None),
    ("bytes=0-", 10, (0, 9)),
    ("bytes=2-4", 10, (2, 4)),
    ("bytes=2-40", 10, (2, 9)),
    ("bytes=-3", 10, (7, 9)),
    ("bytes=-30", 10, (0, 9)),
    ("bytes=9-9", 10, (9, 9)),
    ("bytes=4-2", 10, None),  # not a range HTTP knows: the whole file
    ("bytes=0-1,4-5", 10, None),  # several ranges: the whole file
    ("items=0-1", 10, None),
    ("bytes=-", 10, None),
])
def test_one_byte_range_is_read_of_the_range_header(header: str | None, size: int,
                                                    answer: tuple[int, int] | None) -> None:
    assert byte_range(header, size) == answer


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10),
                                              ("bytes=0-", 0), ("bytes=-1", 0)])
def test_a_range_past_the_end_is_416_with_the_size(header: str, size: int) -> None:
    with pytest.raises(ApiError) as refused:
        byte_range(header, size)
    assert (refused.value.status, refused.value.headers) == (
        416, {"Content-Range": f"bytes */{size}"})


def test_a_files_bytes_are_kept_as_sent_whatever_they_hold(server: Server, token: str) -> None:
    # Given bytes any body check would balk at: JSON text with a NUL, raw NULs, nothing
    json_with_nul = json.dumps({"name": "a\x00b"}).encode()
    binary = bytes(range(256)) * 64
    for name, data in [("nul.json", json_with_nul), ("binary.bin", binary), ("empty", b"")]:
        reply = put(server, token, f"{FOLDER}/{name}", data)

        # Then each is written as it is, and downloads so
        assert (reply.status, reply.text) == (204, ""), reply.text
        assert on_disk(server, f"{FOLDER}/{name}").read_bytes() == data
        status, headers, body = get_bytes(server, token, f"{FOLDER}/{name}")
        assert (status, body, headers["content-length"], headers["content-type"]) == (
            200, data, str(len(data)), "application/octet-stream")


def test_head_answers_the_headers_of_get_without_a_body(server: Server, token: str) -> None:
    put(server, token, f"{FOLDER}/head.csv", b"a,b\n1,2\n")

    found = server.call("HEAD", f"/api/2.0/fs/files{FOLDER}/head.csv", token=token)
    missing = server.call("HEAD", f"/api/2.0/fs/files{FOLDER}/none.csv", token=token)
    folder = server.call("HEAD", f"/api/2.0/fs/directories{FOLDER}", token=token)
    a_file = server.call("HEAD", f"/api/2.0/fs/directories{FOLDER}/head.csv", token=token)

    assert (found.status, found.text, found.headers["content-length"]) == (200, "", "8")
    modified = on_disk(server, f"{FOLDER}/head.csv").stat().st_mtime
    assert parsedate_to_datetime(found.headers["last-modified"]).timestamp() == int(modified)
    assert (missing.status, missing.text) == (404, "")
    assert (folder.status, a_file.status) == (200, 404)


def test_a_range_is_206_and_if_unmodified_since_guards_a_resumed_download(
        server: Server, token: str) -> None:
    put(server, token, f"{FOLDER}/digits.txt", b"0123456789")
    status, headers, body = get_bytes(server, token, f"{FOLDER}/digits.txt")
    modified = headers["last-modified"]

    part = get_bytes(server, token, f"{FOLDER}/digits.txt",
                     {"Range": "bytes=4-", "If-Unmodified-Since": modified})
    past = get_bytes(server, token, f"{FOLDER}/digits.txt", {"Range": "bytes=10-"})
    earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2000), usegmt=True)
    changed = get_bytes(server, token, f"{FOLDER}/digits.txt",
                        {"Range": "bytes=4-", "If-Unmodified-Since": earlier})

    assert (status, headers["accept-ranges"], body) == (200, "bytes", b"0123456789")
    assert (part[0], part[1]["content-range"], part[1]["content-length"], part[2]) == (
        206, "bytes 4-9/10", "6", b"456789")
    assert (past[0], past[1]["content-range"]) == (416, "bytes */10")
    assert changed[0] == 412 and b"changed after" in changed[2]


def test_a_declared_size_over_5_gib_is_refused_before_a_byte_is_read(
        server: Server, token: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.putrequest("PUT", f"/api/2.0/fs/files{FOLDER}/huge.bin")
        for name, value in [("Authorization", f"Bearer {token}"),
                            ("Content-Type", "application/octet-stream"),
                            ("Content-Length", str(5 * 1024**3 + 1))]:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()

    assert (response.status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "5 GiB" in answer["message"] and f"{FOLDER}/huge.bin" in answer["message"]
    assert not on_disk(server, f"{FOLDER}/huge.bin").exists()


def test_an_upload_cut_short_leaves_nothing_and_the_old_file_whole(
        server: Server, token: str) -> None:
    put(server, token, f"{FOLDER}/cut.csv", b"old")
    folder = on_disk(server, FOLDER)

    # When a client sends half the bytes it announced, then leaves
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(f"PUT /api/2.0/fs/files{FOLDER}/cut.csv HTTP/1.1\r\n"
                       f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                       "Content-Type: application/octet-stream\r\n"
                       "Content-Length: 100000\r\n\r\n".encode() + b"new" * 1000)
        wait_for(lambda: any(p.name.endswith(".headwater-tmp") for p in folder.iterdir()),
                 timeout=30, what="the upload to start writing")

    # Then the hidden file it was writing goes, and the old file stays
    wait_for(lambda: not any(p.name.endswith(".headwater-tmp") for p in folder.iterdir()),
             timeout=30, what="the cut upload to be cleaned up")
    assert (folder / "cut.csv").read_bytes() == b"old"


def test_page_tokens_and_sizes(server: Server, token: str) -> None:
    for name in ["p1", "p2", "p3"]:
        put(server, token, f"{FOLDER}/pages/{name}", b"x")
    base = f"/api/2.0/fs/directories{FOLDER}/pages"

    first = server.call("GET", f"{base}?page_size=2", token=token)
    rest = server.call("GET", f"{base}?page_size=2&page_token="
                              f"{first.body['next_page_token']}", token=token)
    whole = server.call("GET", f"{base}?page_size=0", token=token)
    bad_token = server.call("GET", f"{base}?page_token=bm9wZQ", token=token)
    negative = server.call("GET", f"{base}?page_size=-1", token=token)
    server.call("PUT", f"/api/2.0/fs/directories{FOLDER}/nothing", token=token)
    empty = server.call("GET", f"/api/2.0/fs/directories{FOLDER}/nothing", token=token)

    assert [e["name"] for e in first.body["contents"]] == ["p1", "p2"]
    assert ([e["name"] for e in rest.body["contents"]], "next_page_token" in rest.body) == (
        ["p3"], False)
    assert [e["name"] for e in whole.body["contents"]] == ["p1", "p2", "p3"]
    assert first.body["contents"][0] == {
        "path": f"{FOLDER}/pages/p1", "name": "p1", "is_directory": False, "file_size": 1,
        "last_modified": on_disk(server, f"{FOLDER}/pages/p1").stat().st_mtime_ns // 10**6}
    assert (bad_token.status, bad_token.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "not a token this server gave" in bad_token.body["message"]
    assert (negative.status, empty.status, empty.body) == (400, 200, {})


def test_without_a_token_nothing_is_read_or_written(server: Server) -> None:
    for method in ("GET", "PUT", "DELETE", "HEAD"):
        reply = server.call(method, f"/api/2.0/fs/files{FOLDER}/anon.csv",
                            raw=b"x" if method == "PUT" else None)
        assert reply.status == 401, (method, reply.text)
    assert not on_disk(server, f"{FOLDER}/anon.csv").exists()


def test_a_file_whose_name_holds_a_line_break_is_a_file_like_any_other(
        server: Server, token: str) -> None:
    # Given a name with a line break, which a file may have (the routes once matched none)
    path = f"{FOLDER}/two%0Alines.txt"
    # When it is written, then it reads back
    assert put(server, token, path, b"both").status == 204
    status, _, data = get_bytes(server, token, path)
    assert (status, data) == (200, b"both")
    assert on_disk(server, f"{FOLDER}/two\nlines.txt").read_bytes() == b"both"
    # and without a token such a path is refused as every operation is, not "no such API"
    for method in ("GET", "DELETE"):
        reply = server.call(method, f"/api/2.0/fs/directories{FOLDER}/a%0Ab")
        assert (reply.status, reply.body["error_code"]) == (401, "UNAUTHENTICATED")
