"""The real databricks-sdk's `w.workspace` against a real `headwater server`: notebooks and
files uploaded, listed, read back and deleted in the server's `/Workspace` folder, a notebook
kept as the source file a job's task runs, and Databricks' errors (missing paths, existing
objects, another user's folder)."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    DatabricksError,
    InvalidParameterValue,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from headwater.bootstrap import application
from tests.servers import Server

from .conftest import sdk_client

HEADER = b"# Databricks notebook source"
LOAD = b'dbutils.notebook.exit("loaded " + str(21 * 2))\n'
IPYNB = json.dumps({"cells": [{"cell_type": "code", "source": ["x = 1"], "metadata": {},
                               "outputs": [], "execution_count": None}],
                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def workspace_dir(server: Server, token: str) -> Path:
    return Path(server.call("GET", "/api/2.2/headwater/deploy/workspace",
                            token=token).body["workspace_dir"])


def read(w: WorkspaceClient, path: str, format: ExportFormat | None = None) -> bytes:
    with w.workspace.download(path, format=format) as downloaded:
        return bytes(downloaded.read())


def test_a_notebook_uploaded_with_the_sdk_reads_back_and_is_the_file_a_job_runs(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    token = server.token("ana")
    ana = sdk_client(server, token, monkeypatch)
    before = int(time.time() * 1000) - 1000

    # Given a folder made and a notebook uploaded into it, source without the header
    ana.workspace.mkdirs("/Users/ana/etl")
    ana.workspace.upload("/Users/ana/etl/load", io.BytesIO(LOAD), format=ImportFormat.SOURCE,
                         language=Language.PYTHON)

    # Then it downloads with Databricks' header, and reads as a Python notebook
    assert read(ana, "/Users/ana/etl/load") == HEADER + b"\n" + LOAD
    status = ana.workspace.get_status("/Users/ana/etl/load")
    assert (status.object_type, status.language, status.path) == (
        ObjectType.NOTEBOOK, Language.PYTHON, "/Users/ana/etl/load")
    assert status.size is None and status.modified_at >= before
    assert ana.workspace.get_status("/Workspace/Users/ana/etl/load").object_id == status.object_id
    # And it is kept as the source file `etl/load.py` of the server's /Workspace folder
    kept = workspace_dir(server, token) / "Users/ana/etl/load.py"
    assert kept.read_bytes() == HEADER + b"\n" + LOAD

    # When a job names the notebook without its suffix, Then the task runs it
    job = ana.jobs.create(name="load", tasks=[jobs.Task(task_key="load", notebook_task=(
        jobs.NotebookTask(notebook_path=str(kept.with_suffix("")))))])
    run = ana.jobs.run_now_and_wait(job.job_id)
    assert run.state.result_state == jobs.RunResultState.SUCCESS
    output = ana.jobs.get_run_output((run.tasks or [])[0].run_id)
    assert output.notebook_output.result == "loaded 42"

    # And the SDK's own ways of naming notebooks hold: SOURCE keeps the name as given (the
    # language guessed from `.py`), AUTO drops the suffix of a source file with the header
    ana.workspace.upload("/Users/ana/etl/named.py", io.BytesIO(b"print(1)"))
    ana.workspace.upload("/Users/ana/etl/auto.py", io.BytesIO(HEADER + b"\nprint(2)"),
                         format=ImportFormat.AUTO)
    ana.workspace.upload("/Users/ana/etl/explore.ipynb", io.BytesIO(IPYNB),
                         format=ImportFormat.AUTO)
    listed = {item.path: (item.object_type, item.language)
              for item in ana.workspace.list("/Users/ana/etl")}
    assert listed == {"/Users/ana/etl/auto": (ObjectType.NOTEBOOK, Language.PYTHON),
                      "/Users/ana/etl/explore": (ObjectType.NOTEBOOK, Language.PYTHON),
                      "/Users/ana/etl/load": (ObjectType.NOTEBOOK, Language.PYTHON),
                      "/Users/ana/etl/named.py": (ObjectType.NOTEBOOK, Language.PYTHON)}
    assert read(ana, "/Users/ana/etl/named.py") == HEADER + b"\nprint(1)"
    exported = ana.workspace.export("/Users/ana/etl/explore", format=ExportFormat.JUPYTER)
    assert (base64.b64decode(exported.content or ""), exported.file_type) == (IPYNB, "ipynb")


def test_files_round_trip_list_and_delete_with_their_folder(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ana = sdk_client(server, server.token("ana"), monkeypatch)
    data = b"a,b\n\x00\xff binary\n"

    # Given a file (AUTO: no header), a SQL notebook imported as JSON, in nested folders
    ana.workspace.mkdirs("/Workspace/Users/ana/shop/raw")
    ana.workspace.upload("/Workspace/Users/ana/shop/raw/input.csv", io.BytesIO(data),
                         format=ImportFormat.AUTO)
    ana.workspace.import_("/Workspace/Users/ana/shop/report", format=ImportFormat.SOURCE,
                          language=Language.SQL,
                          content=base64.b64encode(b"SELECT 1").decode())

    # Then the file reads back byte for byte, with its size; the notebook as SQL source
    assert read(ana, "/Workspace/Users/ana/shop/raw/input.csv") == data
    status = ana.workspace.get_status("/Workspace/Users/ana/shop/raw/input.csv")
    assert (status.object_type, status.size, status.language) == (ObjectType.FILE, len(data),
                                                                  None)
    report = ana.workspace.export("/Workspace/Users/ana/shop/report")
    assert base64.b64decode(report.content or "") == b"-- Databricks notebook source\nSELECT 1"
    assert report.file_type == "sql"
    raw = ana.workspace.export("/Workspace/Users/ana/shop/raw/input.csv")
    assert (base64.b64decode(raw.content or ""), raw.file_type) == (data, None)
    # And the folders list as Databricks lists them, the paths written as they were asked
    assert [(o.path, o.object_type) for o in ana.workspace.list("/Workspace/Users/ana/shop")] \
        == [("/Workspace/Users/ana/shop/raw", ObjectType.DIRECTORY),
            ("/Workspace/Users/ana/shop/report", ObjectType.NOTEBOOK)]
    assert sorted(o.path for o in ana.workspace.list("/Users/ana", recursive=True)) == [
        "/Users/ana/shop/raw/input.csv", "/Users/ana/shop/report"]
    assert [o.path for o in ana.workspace.list("/Users/ana/shop/report")] == [
        "/Users/ana/shop/report"]  # a notebook lists as itself

    # When the file is uploaded again with overwrite, Then it is replaced
    ana.workspace.upload("/Users/ana/shop/raw/input.csv", io.BytesIO(b"new"),
                         format=ImportFormat.AUTO, overwrite=True)
    assert read(ana, "/Users/ana/shop/raw/input.csv") == b"new"

    # When the folder is deleted with all in it, Then it is gone, and an empty folder is left
    ana.workspace.delete("/Users/ana/shop", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        ana.workspace.get_status("/Users/ana/shop/raw/input.csv")
    assert list(ana.workspace.list("/Users/ana")) == []
    ana.workspace.mkdirs("/Users/ana/empty")
    ana.workspace.delete("/Users/ana/empty")  # an empty folder needs no recursive

    # And each change is in the audit log under ana
    with application(server.settings()) as app:
        entries = [e.entry for e in app.service.audit_entries(actor="ana", limit=None)]
    changes = [(e.action, e.details["path"]) for e in entries
               if e.action.startswith("workspace.")]
    assert changes == [
        ("workspace.folder_made", "/Workspace/Users/ana/shop/raw"),
        ("workspace.imported", "/Workspace/Users/ana/shop/raw/input.csv"),
        ("workspace.imported", "/Workspace/Users/ana/shop/report"),
        ("workspace.imported", "/Workspace/Users/ana/shop/raw/input.csv"),
        ("workspace.deleted", "/Workspace/Users/ana/shop"),
        ("workspace.folder_made", "/Workspace/Users/ana/empty"),
        ("workspace.deleted", "/Workspace/Users/ana/empty")]
    overwrote = [e.details["overwrote"] for e in entries if e.action == "workspace.imported"]
    assert overwrote == [False, False, True]


def test_missing_paths_existing_objects_and_refusals_are_databricks_errors(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    token = server.token("ana")
    ana = sdk_client(server, token, monkeypatch)
    ana.workspace.mkdirs("/Users/ana/etl")
    ana.workspace.upload("/Users/ana/etl/load", io.BytesIO(b"x = 1"), language=Language.PYTHON)

    # Missing paths: 404 RESOURCE_DOES_NOT_EXIST naming the path as it was asked
    with pytest.raises(ResourceDoesNotExist, match=r"^Path \(/Users/ana/nope\) doesn't exist"):
        ana.workspace.get_status("/Users/ana/nope")
    with pytest.raises(ResourceDoesNotExist, match="/Workspace/Users/ana/nope"):
        list(ana.workspace.list("/Workspace/Users/ana/nope"))
    with pytest.raises(ResourceDoesNotExist):
        read(ana, "/Users/ana/etl/load.py")  # a notebook is named without its suffix
    with pytest.raises(ResourceDoesNotExist):
        ana.workspace.delete("/Users/ana/nope")
    with pytest.raises(ResourceDoesNotExist,
                       match=r"The parent folder \(/Users/ana/missing\) does not exist"):
        ana.workspace.upload("/Users/ana/missing/x.txt", io.BytesIO(b"1"),
                             format=ImportFormat.AUTO)
    missing = server.call("GET", "/api/2.0/workspace/get-status?path=/Users/ana/nope",
                          token=token)
    assert (missing.status, missing.body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

    # Existing objects: 400 RESOURCE_ALREADY_EXISTS, as Databricks' Workspace API answers
    with pytest.raises(ResourceAlreadyExists, match="already exists; import with overwrite"):
        ana.workspace.upload("/Users/ana/etl/load", io.BytesIO(b"x = 2"),
                             language=Language.PYTHON)
    assert read(ana, "/Users/ana/etl/load") == HEADER + b"\nx = 1"
    with pytest.raises(ResourceAlreadyExists, match="already exists as a notebook"):
        ana.workspace.mkdirs("/Users/ana/etl/load/sub")
    again = server.call("POST", "/api/2.0/workspace/import", {
        "path": "/Users/ana/etl/load", "language": "PYTHON", "content": ""}, token=token)
    assert (again.status, again.body["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    with pytest.raises(ResourceAlreadyExists, match="a folder"):
        ana.workspace.upload("/Users/ana/etl", io.BytesIO(b"1"), format=ImportFormat.AUTO,
                             overwrite=True)

    # A folder that holds something, deleted without recursive: 400 DIRECTORY_NOT_EMPTY
    with pytest.raises(DatabricksError, match=r"Folder \(/Users/ana/etl\) is not empty") \
            as not_empty:
        ana.workspace.delete("/Users/ana/etl")
    assert not_empty.value.error_code == "DIRECTORY_NOT_EMPTY"
    assert ana.workspace.get_status("/Users/ana/etl/load").object_type == ObjectType.NOTEBOOK

    # What headwater does not read or write, said with what to send instead
    with pytest.raises(InvalidParameterValue, match="format HTML is not supported"):
        ana.workspace.import_("/Users/ana/etl/page", format=ImportFormat.HTML, content="")
    with pytest.raises(InvalidParameterValue, match="needs the notebook's language"):
        ana.workspace.import_("/Users/ana/etl/nolang", format=ImportFormat.SOURCE, content="")
    unnamed = server.call("POST", "/api/2.0/workspace/import", {"content": "eA=="}, token=token)
    assert (unnamed.status, unnamed.body["message"]) == (400, "$.path: required field missing")
    with pytest.raises(InvalidParameterValue, match="exporting a folder is not supported"):
        ana.workspace.export("/Users/ana/etl")
    with pytest.raises(InvalidParameterValue, match="converting it to Jupyter"):
        ana.workspace.export("/Users/ana/etl/load", format=ExportFormat.JUPYTER)
    with pytest.raises(DatabricksError) as too_large:
        ana.workspace.upload("/Users/ana/etl/big.bin", io.BytesIO(b"0" * (10 * 2**20 + 1)),
                             format=ImportFormat.AUTO)
    assert too_large.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"
    # Nobody deletes their own folder (an admin may), nor /Workspace/Shared
    with pytest.raises(PermissionDenied):
        ana.workspace.delete("/Users/ana", recursive=True)
    with pytest.raises(PermissionDenied):
        ana.workspace.delete("/Shared", recursive=True)


def test_a_user_reads_and_writes_their_own_folder_and_shared_an_admin_everywhere(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ana = sdk_client(server, server.token("ana"), monkeypatch)
    bob = sdk_client(server, server.token("bob"), monkeypatch)
    root = sdk_client(server, server.token("root", admin=True), monkeypatch)
    ana.workspace.upload("/Users/ana/private.txt", io.BytesIO(b"ana's"), format=ImportFormat.AUTO)

    # Another user's folder is refused 403, to read and to write
    with pytest.raises(PermissionDenied, match="bob may not read /Workspace/Users/ana"):
        bob.workspace.get_status("/Users/ana/private.txt")
    with pytest.raises(PermissionDenied):
        list(bob.workspace.list("/Users/ana"))
    with pytest.raises(PermissionDenied):
        read(bob, "/Users/ana/private.txt")
    with pytest.raises(PermissionDenied, match="bob may not write"):
        bob.workspace.upload("/Users/ana/planted.txt", io.BytesIO(b"x"),
                             format=ImportFormat.AUTO)
    with pytest.raises(PermissionDenied):
        bob.workspace.delete("/Users/ana/private.txt")
    with pytest.raises(PermissionDenied):
        bob.workspace.mkdirs("/Users/ana/sub")

    # Shared is everyone's; an admin reads and writes anywhere
    bob.workspace.mkdirs("/Shared/team")
    bob.workspace.upload("/Shared/team/notes.md", io.BytesIO(b"# notes"),
                         format=ImportFormat.AUTO)
    assert read(ana, "/Shared/team/notes.md") == b"# notes"
    assert read(root, "/Users/ana/private.txt") == b"ana's"
    assert [o.path for o in root.workspace.list("/Users")] == [
        "/Users/ana", "/Users/bob", "/Users/root"]
    root.workspace.delete("/Users/ana/private.txt")
    assert list(ana.workspace.list("/Users/ana")) == []
