"""The Files API 2.0 (`w.files`, `databricks fs` on `dbfs:/Volumes/...`): the files and
directories of Unity Catalog volumes, which tasks read and write with `dbutils.fs` (see
`service/files.py` for who may do what, `core/volume_paths.py` for the paths reached).

The path follows the endpoint, URL-encoded as the SDK sends it: `PUT`, `GET`, `HEAD` and
`DELETE` on `/api/2.0/fs/files/Volumes/...` upload (the body is the file's bytes, as they
are), download, describe (in the headers `Content-Length`, `Content-Type`, `Last-Modified`)
and delete a file; on `/api/2.0/fs/directories/Volumes/...` they make one (and those above),
list one (`{"contents": [...], "next_page_token"}`), describe one and delete an empty one.

An upload streams to the disk as it arrives, a download from it: neither is ever held whole
in memory. A download reads one byte range when asked (`Range: bytes=...`, answered 206) and
`If-Unmodified-Since` (412 when the file changed since), as the SDK resumes a broken download
with both. `HEAD` answers what `GET` would without the body, so it is left out of the OpenAPI
document, as an HTTP framework's own `HEAD` is (a client fuzzing it would look for a body).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any, BinaryIO

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.requests import ClientDisconnect

from headwater.api.auth import Caller
from headwater.api.errors import ApiError
from headwater.errors import AlreadyExists
from headwater.ports import VolumeEntry

router = APIRouter(tags=["files"])


class _AnyPath(PathConvertor):
    """A path that may hold any character, a line break too, as a file's name may: Starlette's
    `path` stops at one, so such a request matched no route (404, even without a token)."""

    regex = "(?s:.*)"


register_url_convertor("any_path", _AnyPath())
FILES = "/api/2.0/fs/files{file_path:any_path}"
DIRECTORIES = "/api/2.0/fs/directories{directory_path:any_path}"
READ_BYTES = 1024 * 1024  # a download's bytes are read and sent this many at a time
OCTETS = "application/octet-stream"
UPLOAD_BODY: dict[str, Any] = {"requestBody": {"required": False, "content": {
    OCTETS: {"schema": {"type": "string", "format": "binary"}}}}}
DOWNLOAD: dict[int | str, dict[str, Any]] = {200: {"content": {
    OCTETS: {"schema": {"type": "string", "format": "binary"}}}}}


@contextmanager
def files_api_errors() -> Iterator[None]:
    """The Files API's own code for what exists already: 409 `ALREADY_EXISTS` (the SDK's
    `AlreadyExists`, which `databricks fs cp` reads as a file there), where the older APIs
    answer `RESOURCE_ALREADY_EXISTS`."""
    try:
        yield
    except AlreadyExists as error:
        raise ApiError(409, "ALREADY_EXISTS", str(error)) from None


def http_date(milliseconds: int) -> str:
    """An instant as HTTP writes it (`Last-Modified`): `Wed, 02 Dec 2026 17:36:07 GMT`."""
    return email.utils.format_datetime(datetime.fromtimestamp(milliseconds / 1000, UTC),
                                       usegmt=True)


def file_headers(entry: VolumeEntry) -> dict[str, str]:
    return {"Content-Length": str(entry.size or 0), "Content-Type": OCTETS,
            "Last-Modified": http_date(entry.modified_at)}


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range (first, last byte) a `Range` header asks of a file of `size` bytes; None
    for the whole file: no header, or one this server does not read (several ranges, another
    unit), which HTTP lets it answer with the whole file.

    Raises:
        ApiError: 416, for a range that starts past the end.
    """
    found = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header or "")
    if found is None or not (found.group(1) or found.group(2)):
        return None
    first, last = found.group(1), found.group(2)
    if not first:  # the last `last` bytes
        start, end = max(size - int(last), 0), size - 1
        if int(last) == 0 or size == 0:
            raise _unsatisfiable(header or "", size)
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
        if last and int(last) < start:
            return None
        if start >= size:
            raise _unsatisfiable(header or "", size)
    return start, end


def _unsatisfiable(header: str, size: int) -> ApiError:
    return ApiError(416, "INVALID_PARAMETER_VALUE",
                    f"Range {header!r} starts past the end of the file, which holds {size} "
                    "bytes", {"Content-Range": f"bytes */{size}"})


def unmodified_since(header: str | None, entry: VolumeEntry) -> bool:
    """Whether the file has not changed since the instant of an `If-Unmodified-Since` header
    (true without one, or with one that is no HTTP date, which HTTP says to ignore)."""
    if not header:
        return True
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return True
    if since.tzinfo is None:
        return True
    return entry.modified_at // 1000 <= int(since.timestamp())


def _read(handle: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    """`length` bytes of the open file from `start`, a part at a time; closes it."""
    with handle:
        handle.seek(start)
        while length > 0 and (part := handle.read(min(READ_BYTES, length))):
            length -= len(part)
            yield part


@router.get(FILES, response_class=Response, responses=DOWNLOAD)
def download(request: Request, service: Caller, file_path: str) -> Response:
    """The file's bytes (or those of one `Range`), with its `Content-Length`, `Content-Type`
    and `Last-Modified`; 404 `RESOURCE_DOES_NOT_EXIST` when no file is there."""
    entry, handle = service.open_volume_file(file_path)
    try:
        if not unmodified_since(request.headers.get("if-unmodified-since"), entry):
            raise ApiError(412, "INVALID_STATE", f"{entry.path} changed after "
                           f"{request.headers['if-unmodified-since']} (If-Unmodified-Since): "
                           "download it again from its start")
        size = entry.size or 0
        asked = byte_range(request.headers.get("range"), size)
    except BaseException:
        handle.close()
        raise
    headers = {**file_headers(entry), "Accept-Ranges": "bytes"}
    if asked is None:
        return StreamingResponse(_read(handle, 0, size), headers=headers, media_type=OCTETS)
    start, end = asked
    headers.update({"Content-Length": str(end - start + 1),
                    "Content-Range": f"bytes {start}-{end}/{size}"})
    return StreamingResponse(_read(handle, start, end - start + 1), status_code=206,
                             headers=headers, media_type=OCTETS)


@router.head(FILES, include_in_schema=False)
def file_metadata(service: Caller, file_path: str) -> Response:
    """The headers `GET` would send, without the file (`w.files.get_metadata`)."""
    return Response(headers=file_headers(service.volume_file(file_path)))


@router.put(FILES, status_code=204, response_class=Response, openapi_extra=UPLOAD_BODY)
async def upload(request: Request, service: Caller, file_path: str,
                 overwrite: bool = True) -> Response:
    """Write the body, as it is, to the file (making the directories above it); a file there
    is replaced unless `overwrite=false` (then 409 `ALREADY_EXISTS`). At most 5 GiB."""
    length = request.headers.get("content-length", "")
    write = partial(service.upload_volume_file, file_path,
                    _chunks(request.stream().__aiter__()), overwrite,
                    int(length) if length.isdigit() else None)
    try:
        with files_api_errors():
            await anyio.to_thread.run_sync(write)
    except ClientDisconnect:  # nothing was written; the client is gone, so nobody reads this
        raise ApiError(400, "INVALID_PARAMETER_VALUE", f"{file_path}: the client left before "
                       "the whole body arrived; nothing was written") from None
    return Response(status_code=204)


def _chunks(body: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request's body as it arrives, for a writer in a worker thread: each part is
    awaited on the event loop, so no more than one is held at a time."""

    async def next_part() -> bytes | None:
        try:
            return await body.__anext__()
        except StopAsyncIteration:
            return None

    while (part := anyio.from_thread.run(next_part)) is not None:
        if part:
            yield part


@router.delete(FILES, status_code=204, response_class=Response)
def delete_file(service: Caller, file_path: str) -> Response:
    """Delete the file; 404 when no file is there (a directory: `fs/directories`)."""
    service.delete_volume_file(file_path)
    return Response(status_code=204)


@router.put(DIRECTORIES, status_code=204, response_class=Response)
def create_directory(service: Caller, directory_path: str) -> Response:
    """Make the directory and those above it; nothing to do when it is there, 409
    `ALREADY_EXISTS` when a file is in the way."""
    with files_api_errors():
        service.make_volume_directory(directory_path)
    return Response(status_code=204)


@router.get(DIRECTORIES)
def list_directory(service: Caller, directory_path: str, page_size: int | None = None,
                   page_token: str | None = None) -> dict[str, Any]:
    """What the directory holds, by name, `page_size` (at most 1000) at a time; `{}` for an
    empty one."""
    page = service.list_volume_directory(directory_path, page_size, page_token)
    body: dict[str, Any] = {}
    if page.items:
        body["contents"] = [_entry_json(entry) for entry in page.items]
    if page.next_page_token is not None:
        body["next_page_token"] = page.next_page_token
    return body


def _entry_json(entry: VolumeEntry) -> dict[str, Any]:
    """A `DirectoryEntry`: a file's size only for a file, as Databricks sends it."""
    body: dict[str, Any] = {"path": entry.path, "name": entry.name,
                            "is_directory": entry.is_directory,
                            "last_modified": entry.modified_at}
    if not entry.is_directory:
        body["file_size"] = entry.size
    return body


@router.head(DIRECTORIES, include_in_schema=False)
def directory_metadata(service: Caller, directory_path: str) -> Response:
    """200 when the directory is there, 404 when not (`w.files.get_directory_metadata`)."""
    service.volume_directory(directory_path)
    return Response()


@router.delete(DIRECTORIES, status_code=204, response_class=Response)
def delete_directory(service: Caller, directory_path: str) -> Response:
    """Delete the empty directory; 400 `DIRECTORY_NOT_EMPTY` when it holds something."""
    service.delete_volume_directory(directory_path)
    return Response(status_code=204)
