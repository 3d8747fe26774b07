"""The real databricks-sdk's `w.files` (the Files API 2.0) against a real `headwater server`:
a CSV uploaded to a volume is listed, described and read back, a job's task reads it where
`dbutils.fs` finds `/Volumes/...` and writes a result the user downloads; and Databricks'
errors (a file there already, a missing one, a path out of the volumes, a directory that
is not empty)."""

from __future__ import annotations

import io
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    AlreadyExists,
    DatabricksError,
    InvalidParameterValue,
    NotFound,
)
from databricks.sdk.service import jobs

from headwater.bootstrap import application
from tests.servers import Server

from .conftest import sdk_client

LANDING = "/Volumes/main/raw/landing"
ORDERS = f"{LANDING}/orders.csv"
CSV = b"order_id,amount\n1,10\n2,20\n3,12\n"
COUNT_ORDERS = """\
from databricks.sdk.runtime import dbutils
from headwater.runtime.dbfs import local_path

text = dbutils.fs.head("/Volumes/main/raw/landing/orders.csv")
with open(local_path("/Volumes/main/raw/landing/orders.csv")) as opened:
    assert opened.read() == text, "open() and dbutils.fs read different files"
total = sum(int(line.split(",")[1]) for line in text.splitlines()[1:])
dbutils.fs.put("/Volumes/main/raw/report/total.txt", str(total), overwrite=True)
"""


def read(w: WorkspaceClient, path: str) -> bytes:
    contents = w.files.download(path).contents
    assert contents is not None
    with contents:
        return bytes(contents.read())


def test_a_csv_uploaded_to_a_volume_reads_back_and_is_the_file_a_job_reads(
        server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    ana = sdk_client(server, server.token("ana"), monkeypatch)
    before = time.time() - 2

    # Given a CSV uploaded to a volume that was never made (its directories are made)
    ana.files.upload(ORDERS, io.BytesIO(CSV))

    # Then it lists, describes itself and downloads byte for byte
    listed = list(ana.files.list_directory_contents(LANDING))
    assert [(e.name, e.path, e.is_directory, e.file_size) for e in listed] == [
        ("orders.csv", ORDERS, False, len(CSV))]
    assert (listed[0].last_modified or 0) >= before * 1000
    metadata = ana.files.get_metadata(ORDERS)
    assert (metadata.content_length, metadata.content_type) == (len(CSV),
                                                                "application/octet-stream")
    assert parsedate_to_datetime(metadata.last_modified or "").timestamp() >= before - 1
    ana.files.get_directory_metadata(LANDING)
    assert read(ana, ORDERS) == CSV
    # And it is the file tasks see: in the DBFS folder of the server's home
    kept = server.settings().dbfs_dir / "Volumes/main/raw/landing/orders.csv"
    assert kept.read_bytes() == CSV

    # When a job's Python task reads it with dbutils.fs (and open) and writes a total
    script = tmp_path / "count_orders.py"
    script.write_text(COUNT_ORDERS)
    job = ana.jobs.create(name="orders", tasks=[jobs.Task(
        task_key="count", spark_python_task=jobs.SparkPythonTask(python_file=str(script)))])
    run = ana.jobs.run_now_and_wait(job.job_id)

    # Then the run succeeds, and its result downloads through the Files API
    assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS, \
        run.state
    assert read(ana, "/Volumes/main/raw/report/total.txt") == b"42"
    assert [e.path for e in ana.files.list_directory_contents("/Volumes/main/raw/report/")] \
        == ["/Volumes/main/raw/report/total.txt"]


def test_names_that_need_escaping_and_listings_of_many_pages(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    ana = sdk_client(server, server.token("ana"), monkeypatch)
    odd = f"{LANDING}/in/a b#?%20ü.csv"

    ana.files.upload(odd, io.BytesIO(b"odd"))
    for number in range(5):
        ana.files.upload(f"{LANDING}/in/part-{number}.csv", io.BytesIO(b"%d" % number))
    ana.files.create_directory(f"{LANDING}/in/sub/")

    assert read(ana, odd) == b"odd"
    assert ana.files.get_metadata(odd).content_length == 3
    # page_size 2: the SDK follows next_page_token through four pages, by name
    names = [e.name for e in ana.files.list_directory_contents(f"{LANDING}/in", page_size=2)]
    assert names == ["a b#?%20ü.csv", "part-0.csv", "part-1.csv", "part-2.csv", "part-3.csv",
                     "part-4.csv", "sub"]


def test_refusals_are_the_files_apis_errors_and_deletes_take_files_and_empty_directories(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    token = server.token("ana")
    ana = sdk_client(server, token, monkeypatch)
    ana.files.upload(ORDERS, io.BytesIO(b"first"))

    # A file there already, without overwrite: 409 ALREADY_EXISTS, the SDK's AlreadyExists
    with pytest.raises(AlreadyExists, match="already exists; upload with overwrite=true"):
        ana.files.upload(ORDERS, io.BytesIO(b"second"), overwrite=False)
    assert read(ana, ORDERS) == b"first"
    again = server.call("PUT", f"/api/2.0/fs/files{ORDERS}?overwrite=false", raw=b"second",
                        token=token, headers={"Content-Type": "application/octet-stream"})
    assert (again.status, again.body["error_code"]) == (409, "ALREADY_EXISTS")
    with pytest.raises(AlreadyExists, match="is a file"):
        ana.files.create_directory(f"{ORDERS}/sub")
    ana.files.upload(ORDERS, io.BytesIO(b"second"), overwrite=True)
    assert read(ana, ORDERS) == b"second"

    # Missing files and directories: 404, the SDK's NotFound
    missing = f"{LANDING}/missing.csv"
    for call in (lambda: ana.files.get_metadata(missing), lambda: read(ana, missing),
                 lambda: ana.files.delete(missing),
                 lambda: list(ana.files.list_directory_contents(f"{LANDING}/nope")),
                 lambda: ana.files.get_directory_metadata(f"{LANDING}/nope"),
                 lambda: ana.files.delete_directory(f"{LANDING}/nope")):
        with pytest.raises(NotFound):
            call()
    ana.files.create_directory(f"{LANDING}/empty")
    with pytest.raises(NotFound, match=r"it is a directory; the directory calls \("):
        read(ana, f"{LANDING}/empty")
    with pytest.raises(NotFound, match=r"it is a file; the file calls \(download"):
        list(ana.files.list_directory_contents(ORDERS))
    with pytest.raises(NotFound, match="it is a file"):
        ana.files.delete_directory(ORDERS)
    with pytest.raises(NotFound, match="it is a directory"):
        ana.files.delete(f"{LANDING}/empty")

    # A path out of the volumes: 400 INVALID_PARAMETER_VALUE naming it, nothing written
    with pytest.raises(InvalidParameterValue, match="reaches Unity Catalog volumes only"):
        ana.files.upload("/tmp/orders.csv", io.BytesIO(b"x"))
    for method, path in [
            ("PUT", "/api/2.0/fs/files/Volumes/main/raw/landing/../../../../escaped.txt"),
            ("PUT", "/api/2.0/fs/files/Volumes/main/raw/landing/%2E%2E/%2E%2E/%2E%2E/x.txt"),
            ("GET", "/api/2.0/fs/files/Volumes/main/raw/landing/../../../../../etc/passwd"),
            ("PUT", "/api/2.0/fs/directories/Volumes/main/raw/landing/../../../../made"),
            ("GET", "/api/2.0/fs/directories/Volumes/main/raw/../.."),
            ("DELETE", "/api/2.0/fs/directories/Volumes/main/raw/landing/../landing")]:
        refused = server.call(method, path, raw=b"x" if method == "PUT" else None, token=token)
        assert (refused.status, refused.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
        assert "`..`" in refused.body["message"] and "/Volumes/main/raw/" in \
            refused.body["message"]
    home = server.settings().home
    assert not (home / "escaped.txt").exists() and not (home / "dbfs" / "escaped.txt").exists()
    assert not (home / "made").exists() and not (home / "dbfs" / "made").exists()
    assert (home / "dbfs/Volumes/main/raw/landing").is_dir()

    # A directory that holds something is not deleted: 400 DIRECTORY_NOT_EMPTY
    with pytest.raises(DatabricksError, match="is not empty: delete what it holds") \
            as not_empty:
        ana.files.delete_directory(LANDING)
    assert not_empty.value.error_code == "DIRECTORY_NOT_EMPTY"

    # When the file and the directories are deleted, Then they are gone
    ana.files.delete(ORDERS)
    ana.files.delete_directory(f"{LANDING}/empty")
    with pytest.raises(NotFound):
        ana.files.get_metadata(ORDERS)
    assert list(ana.files.list_directory_contents(LANDING)) == []
    ana.files.delete_directory(LANDING)
    with pytest.raises(NotFound):
        ana.files.get_directory_metadata(LANDING)

    # And each change is in the audit log under ana
    with application(server.settings()) as app:
        entries = [e.entry for e in app.service.audit_entries(actor="ana", limit=None)]
    assert [(e.action, e.details["path"]) for e in entries if e.action.startswith("files.")] \
        == [("files.uploaded", ORDERS), ("files.uploaded", ORDERS),
            ("files.directory_made", f"{LANDING}/empty"), ("files.deleted", ORDERS),
            ("files.directory_deleted", f"{LANDING}/empty"),
            ("files.directory_deleted", LANDING)]
    assert [e.details["overwrote"] for e in entries if e.action == "files.uploaded"] == [
        False, True]
