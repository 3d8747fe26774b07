"""What the databricks-sdk asks a workspace for besides jobs: its probe of the host's
configuration (answered at once, without a token, as reference 6.2 asks), the current user,
and the Workspace API 2.0 (`w.workspace`: `get-status`, `list`, `mkdirs`, `import`, `export`,
`delete`) over the server's `/Workspace` folder (see `service/workspace.py` and
`core/workspace_objects.py` for who may do what and what a notebook is).

`import` takes two bodies, as Databricks does: JSON with base64 `content`, and the multipart
form `w.workspace.upload` sends (the file as `content`, the other fields as text), the one
route of the API that reads a form (`app.JsonBodies` lets it through).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from headwater.api.access_documents import me_json
from headwater.api.auth import Caller
from headwater.core.workspace_objects import (
    MAX_OBJECT_BYTES,
    ExportFormat,
    ImportFormat,
    Language,
    ObjectType,
    object_id,
    shown_path,
)
from headwater.errors import InvalidRequest, ObjectTooLarge
from headwater.ports import WorkspaceObject

router = APIRouter(tags=["workspace"])


@router.get("/.well-known/databricks-config")
def host_config() -> dict[str, Any]:
    """An empty configuration: no workspace id (so no header to send), no OIDC endpoint
    (so the SDK never leaves token authentication)."""
    return {}


@router.get("/api/2.0/preview/scim/v2/Me")
def me(service: Caller) -> dict[str, Any]:
    """The user of the request's token."""
    return me_json(service.principal)


# `workspace/import`'s two bodies.

_IMPORT_FIELDS: dict[str, Any] = {
    "path": {"type": "string", "minLength": 1},
    "format": {"type": "string", "enum": [str(f) for f in ImportFormat]},
    "language": {"type": "string", "enum": [str(language) for language in Language]},
    "overwrite": {"type": "boolean"},
}
IMPORT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["path"], "additionalProperties": False,
        "properties": {**_IMPORT_FIELDS, "content": {"type": "string",
                                                     "description": "base64"}}}},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["path", "content"], "additionalProperties": False,
        "properties": {**_IMPORT_FIELDS, "content": {"type": "string",
                                                     "format": "binary"}}}},
}}}


class ImportFields(BaseModel):
    """The fields of an import but its content, as either body sends them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    format: ImportFormat = ImportFormat.SOURCE
    language: Language | None = None
    overwrite: bool = False


class ImportJson(ImportFields):
    """The JSON body: the content base64 encoded (none: an empty notebook or file)."""

    content: str = ""


@dataclass(frozen=True, slots=True)
class Imported:
    """An import request, whichever body it came in."""

    path: str
    content: bytes
    format: ImportFormat
    language: Language | None
    overwrite: bool


async def imported_body(request: Request) -> Imported:
    """The import the request's body asks for: a multipart form or JSON.

    Raises:
        RequestValidationError: a missing or mistyped field, or a body that is not JSON.
        InvalidRequest: content that is not base64.
        ObjectTooLarge: content over Databricks' 10 MB.
    """
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _form_body(request)
    try:
        fields = ImportJson.model_validate_json(await request.body())
    except ValidationError as error:
        raise _in_body(error) from None
    if len(fields.content) > MAX_OBJECT_BYTES * 4 // 3 + 4:
        raise ObjectTooLarge(f"$.content: more than the {MAX_OBJECT_BYTES} bytes an import "
                             "may carry")
    try:
        content = base64.b64decode(fields.content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("$.content: not base64; send the notebook or file base64 "
                             "encoded") from None
    return Imported(fields.path, content, fields.format, fields.language, fields.overwrite)


def _in_body(error: ValidationError) -> RequestValidationError:
    """pydantic's findings located in the body, as FastAPI locates those of a body it reads
    (`$.path`, not the query's `path parameter`)."""
    return RequestValidationError([{**found, "loc": ("body", *found["loc"])}
                                   for found in error.errors()])


async def _form_body(request: Request) -> Imported:
    """The multipart form of `w.workspace.upload`: `content` a file (or a text field)."""
    async with request.form(max_files=1, max_fields=8) as form:
        values = {name: value for name, value in form.multi_items() if name != "content"}
        upload = form.get("content")
        if isinstance(upload, UploadFile):
            content = await upload.read(MAX_OBJECT_BYTES + 1)
        else:
            content = (upload or "").encode()
    try:
        fields = ImportFields.model_validate(
            {name: value for name, value in values.items() if isinstance(value, str)})
    except ValidationError as error:
        raise _in_body(error) from None
    if upload is None:
        raise RequestValidationError([{"type": "missing", "loc": ("body", "content"),
                                       "msg": "required field missing"}])
    if len(content) > MAX_OBJECT_BYTES:
        raise ObjectTooLarge(f"content: more than the {MAX_OBJECT_BYTES} bytes an import may "
                             "carry")
    return Imported(fields.path, content, fields.format, fields.language, fields.overwrite)


# The Workspace API 2.0 (`w.workspace`): notebooks, files and folders of `/Workspace`.


def _object_json(item: WorkspaceObject, asked: str) -> dict[str, Any]:
    """An object as Databricks' `ObjectInfo`, its path written as the caller wrote `asked`: a
    size for a file only, times for what is not a folder, a language for a notebook."""
    identity = object_id(item.path)
    body: dict[str, Any] = {"object_type": item.object_type,
                            "path": shown_path(item.path, asked),
                            "object_id": identity, "resource_id": str(identity)}
    if item.language is not None:
        body["language"] = item.language
    if item.object_type is ObjectType.FILE and item.size is not None:
        body["size"] = item.size
    if item.created_at is not None:
        body["created_at"] = item.created_at
    if item.modified_at is not None:
        body["modified_at"] = item.modified_at
    return body


@router.get("/api/2.0/workspace/get-status")
def get_status(service: Caller, path: str) -> dict[str, Any]:
    """The notebook, file or folder at `path` (404 `RESOURCE_DOES_NOT_EXIST` when nothing is)."""
    return _object_json(service.workspace_status(path), path)


@router.get("/api/2.0/workspace/list")
def list_objects(service: Caller, path: str,
                 notebooks_modified_after: int | None = None) -> dict[str, Any]:
    """What the folder at `path` holds (or the object at `path`, when it is no folder);
    `{}` for an empty folder, as Databricks answers."""
    found = service.workspace_list(path, notebooks_modified_after)
    return {"objects": [_object_json(item, path) for item in found]} if found else {}


class WorkspacePath(BaseModel):
    """A path of the workspace (`mkdirs`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)


@router.post("/api/2.0/workspace/mkdirs")
def mkdirs(service: Caller, body: WorkspacePath) -> dict[str, Any]:
    """Make the folder and those above it; a notebook or file in the way is a 400
    `RESOURCE_ALREADY_EXISTS`."""
    service.make_workspace_folders(body.path)
    return {}


class Deletion(BaseModel):
    """What to delete: a notebook, a file, or a folder (with all in it: `recursive`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(min_length=1)
    recursive: bool = False


@router.post("/api/2.0/workspace/delete")
def delete_object(service: Caller, body: Deletion) -> dict[str, Any]:
    """Delete it; a folder that holds something without `recursive` is a 400
    `DIRECTORY_NOT_EMPTY`."""
    service.delete_workspace_object(body.path, body.recursive)
    return {}


@router.post("/api/2.0/workspace/import", openapi_extra=IMPORT_BODY)
def import_object(service: Caller,
                  body: Annotated[Imported, Depends(imported_body)]) -> dict[str, Any]:
    """Write a notebook or file: a JSON body with base64 `content` (`w.workspace.import_`), or
    a multipart form with the file as `content` (`w.workspace.upload`)."""
    service.import_workspace_object(body.path, body.content, body.format, body.language,
                                    body.overwrite)
    return {}


@router.get("/api/2.0/workspace/export", response_model=None)
def export(service: Caller, path: str, format: ExportFormat | None = None,
           direct_download: bool = False) -> dict[str, Any] | Response:
    """A notebook's or file's bytes: base64 `content` with its `file_type`, or the bytes
    themselves with `direct_download` (`w.workspace.download`)."""
    found = service.export_workspace_object(path, format)
    if direct_download:
        return Response(found.content, media_type="application/octet-stream")
    body: dict[str, Any] = {"content": base64.b64encode(found.content).decode("ascii")}
    if found.file_type is not None:
        body["file_type"] = found.file_type
    return body
