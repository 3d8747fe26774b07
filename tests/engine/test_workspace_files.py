"""The server's workspace folder (engine/workspace_files.py) on a real file system: a deploy's
archive makes a folder hold exactly the bundle's files, in place, and a bad archive changes
nothing."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from headwater.core.bundle_sync import KEPT_DIGEST, content_digest
from headwater.core.workspace_objects import ImportFormat, Language, planned_import
from headwater.engine.workspace_files import BadArchive, WorkspaceFolder
from headwater.errors import Conflict
from headwater.ports import WorkspaceObject

FILES = "/Workspace/Users/ana/.bundle/shop/dev/files"


def archive(files: dict[str, bytes], links: dict[str, str] | None = None,
            modes: dict[str, int] | None = None, kept: dict[str, str] | None = None) -> bytes:
    """A deploy's archive: `files` sent whole, `kept` (name: digest) by their digest alone."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), (modes or {}).get(name, 0o644)
            tar.addfile(info, io.BytesIO(data))
        for name, digest in (kept or {}).items():
            info = tarfile.TarInfo(name)
            info.mode, info.pax_headers = (modes or {}).get(name, 0o644), {KEPT_DIGEST: digest}
            tar.addfile(info)
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> WorkspaceFolder:
    return WorkspaceFolder(tmp_path / "workspace", tmp_path / "workspace-sync")


def test_a_sync_writes_the_archive_keeps_modes_and_reports_what_changed(
        workspace: WorkspaceFolder) -> None:
    first = workspace.sync(FILES, archive({"run.sh": b"echo hi\n", "src/a.py": b"1"},
                                          modes={"run.sh": 0o755}))
    second = workspace.sync(FILES, archive({"run.sh": b"echo hi\n", "src/a.py": b"2"},
                                           modes={"run.sh": 0o755}))

    folder = Path(first.folder)
    assert folder == workspace.root / "Users/ana/.bundle/shop/dev/files"
    assert (first.written, first.unchanged, first.deleted) == (2, 0, 0)
    assert (second.written, second.unchanged, second.deleted) == (1, 1, 0)
    assert (folder / "src/a.py").read_bytes() == b"2"
    assert (folder / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (folder / "src/a.py").stat().st_mode & 0o777 == 0o644


def test_only_files_an_earlier_sync_copied_are_deleted_and_emptied_folders_go(
        workspace: WorkspaceFolder) -> None:
    folder = Path(workspace.sync(FILES, archive({"a.py": b"", "old/b.py": b""})).folder)
    (folder / "output.csv").write_text("a task wrote this")

    synced = workspace.sync(FILES, archive({"a.py": b""}))

    assert synced.deleted == 1
    assert sorted(p.name for p in folder.iterdir()) == ["a.py", "output.csv"]


def test_a_bad_archive_is_refused_naming_every_member_and_nothing_is_written(
        workspace: WorkspaceFolder) -> None:
    bad = archive({"ok.py": b"", "../escape.py": b"", "/etc/passwd": b""},
                  links={"link": "/etc/shadow"})

    with pytest.raises(BadArchive) as refused:
        workspace.sync(FILES, bad)
    with pytest.raises(BadArchive, match="not a gzipped tar archive"):
        workspace.sync(FILES, b"{}")

    message = str(refused.value)
    assert "'../escape.py' is not a path inside the bundle's folder" in message
    assert "'/etc/passwd' is not a path inside the bundle's folder" in message
    assert "'link' is neither a file nor a folder (links are not copied)" in message
    assert not workspace.root.exists()


def test_only_the_files_the_folder_lacks_are_named_and_the_others_travel_by_digest(
        workspace: WorkspaceFolder) -> None:
    folder = Path(workspace.sync(FILES, archive({"a.py": b"1", "b.py": b"2"})).folder)
    (folder / "task-output.csv").write_text("x")
    digests = {"a.py": content_digest(b"1"), "b.py": content_digest(b"changed"),
               "new.py": content_digest(b"3"), "task-output.csv": content_digest(b"y")}

    changed = workspace.changed(FILES, digests)
    synced = workspace.sync(FILES, archive(
        {"b.py": b"changed", "new.py": b"3", "task-output.csv": b"y"},
        kept={"a.py": content_digest(b"1")}, modes={"a.py": 0o755}))

    assert changed == ["b.py", "new.py", "task-output.csv"]
    # a.py was kept (only its mode changed), the others written; nothing of a.py travelled.
    assert (synced.written, synced.unchanged, synced.deleted) == (4, 0, 0)
    assert (folder / "a.py").read_bytes() == b"1"
    assert (folder / "a.py").stat().st_mode & 0o777 == 0o755
    assert (folder / "b.py").read_bytes() == b"changed"
    assert workspace.changed(FILES, {"a.py": content_digest(b"1")}) == []


def test_a_file_kept_by_digest_that_changed_since_refuses_the_whole_archive(
        workspace: WorkspaceFolder) -> None:
    folder = Path(workspace.sync(FILES, archive({"a.py": b"1", "b.py": b"2"})).folder)
    compared = {"a.py": content_digest(b"1"), "b.py": content_digest(b"2")}
    (folder / "a.py").write_bytes(b"another deploy wrote this")  # after the comparison

    with pytest.raises(Conflict, match=r"1 files changed in .* \(a.py\): deploy again"):
        workspace.sync(FILES, archive({"c.py": b"3"}, kept=compared))
    with pytest.raises(Conflict):  # a kept file that is not there at all
        workspace.sync(FILES, archive({}, kept={"gone.py": content_digest(b"")}))

    assert sorted(p.name for p in folder.iterdir()) == ["a.py", "b.py"]  # nothing written


def test_names_to_compare_and_kept_members_are_checked_like_any_member(
        workspace: WorkspaceFolder) -> None:
    outside = workspace.root.parent / "secret.txt"
    outside.write_text("s")
    bad_kept = archive({}, kept={"a.py": "not-a-digest"})
    sized = io.BytesIO()
    with tarfile.open(fileobj=sized, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("b.py")
        info.size, info.pax_headers = 1, {KEPT_DIGEST: content_digest(b"")}
        tar.addfile(info, io.BytesIO(b"x"))

    with pytest.raises(BadArchive) as refused:
        workspace.changed(FILES, {"../../../../secret.txt": content_digest(b"s"),
                                  "/etc/passwd": content_digest(b"")})
    with pytest.raises(BadArchive, match=r"'a\.py' is listed as kept but is not an empty file"):
        workspace.sync(FILES, bad_kept)
    with pytest.raises(BadArchive, match=r"'b\.py' is listed as kept but is not an empty file"):
        workspace.sync(FILES, sized.getvalue())

    assert "'../../../../secret.txt' is not a path inside the bundle's folder" \
        in str(refused.value)
    assert "'/etc/passwd' is not a path inside the bundle's folder" in str(refused.value)


def test_a_sync_that_stopped_midway_is_finished_by_the_next(
        workspace: WorkspaceFolder, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.sync(FILES, archive({"a.py": b"1"}))
    import headwater.engine.workspace_files as module

    real = module._write

    def crash_after_first(path: Path, data: bytes, mode: int) -> bool:
        if path.name == "c.py":
            raise OSError("the disk went away")
        return real(path, data, mode)

    monkeypatch.setattr(module, "_write", crash_after_first)
    with pytest.raises(OSError):
        workspace.sync(FILES, archive({"b.py": b"2", "c.py": b"3"}))
    monkeypatch.setattr(module, "_write", real)
    finished = workspace.sync(FILES, archive({"c.py": b"3"}))

    folder = Path(finished.folder)
    # b.py was copied by the sync that stopped: the next one, which has it no more, deletes it.
    assert sorted(p.name for p in folder.iterdir()) == ["c.py"]


def test_removing_a_root_deletes_its_folder_and_forgets_what_was_copied_under_it(
        workspace: WorkspaceFolder) -> None:
    root = "/Workspace/Users/ana/.bundle/shop/dev"
    workspace.sync(FILES, archive({"a.py": b""}))
    other = workspace.sync("/Workspace/Shared/other", archive({"b.py": b""}))

    removed = workspace.remove(root)
    again = workspace.remove(root)
    records_left = [json.loads(p.read_text())["path"] for p in workspace.snapshots.glob("*.json")]
    recopied = workspace.sync(FILES, archive({"a.py": b""}))

    assert (removed, again) == (True, False)
    assert Path(other.folder, "b.py").exists()  # another folder is not touched
    assert (recopied.written, recopied.deleted) == (1, 0)
    assert records_left == ["/Workspace/Shared/other"]


# The Workspace API's objects over the same folder (core/workspace_objects.py).

ETL = "/Workspace/Users/ana/etl"


def kept(workspace: WorkspaceFolder, name: str, data: bytes) -> Path:
    """A file put in the folder as a deploy or a task would put it."""
    path = workspace.root / "Users/ana/etl" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def shown(items: list[WorkspaceObject]) -> list[tuple[str, str, str | None]]:
    return [(item.path.rsplit("/", 1)[1], item.object_type, item.language) for item in items]


def test_files_on_disk_read_as_notebooks_by_suffix_and_header_and_named_without_the_suffix(
        workspace: WorkspaceFolder) -> None:
    # Given what a deploy copied: notebooks of each language, a script and data
    kept(workspace, "load.py", b"# Databricks notebook source\nprint(1)\n")
    kept(workspace, "report.sql", b"-- Databricks notebook source\r\nSELECT 1\n")
    kept(workspace, "job.scala", b"// Databricks notebook source\nprintln(1)\n")
    kept(workspace, "model.r", b"# Databricks notebook source\nprint(1)\n")
    kept(workspace, "explore.ipynb", b'{"cells": []}')
    kept(workspace, "helpers.py", b"def helper(): ...\n")
    kept(workspace, "data.csv", b"a,b\n")
    (workspace.root / "Users/ana/etl/sub").mkdir()

    listed = workspace.children(ETL)

    assert shown(listed) == [
        ("data.csv", "FILE", None), ("explore", "NOTEBOOK", "PYTHON"),
        ("helpers.py", "FILE", None), ("job", "NOTEBOOK", "SCALA"),
        ("load", "NOTEBOOK", "PYTHON"), ("model", "NOTEBOOK", "R"),
        ("report", "NOTEBOOK", "SQL"), ("sub", "DIRECTORY", None)]
    # get-status finds each by the same name, and only by it
    for item in listed:
        assert workspace.status(item.path) == item
    assert workspace.status(f"{ETL}/load.py") is None
    assert workspace.status(f"{ETL}/load").kept == str(workspace.root / "Users/ana/etl/load.py")
    assert workspace.status(f"{ETL}/data.csv").size == 4


def test_two_files_claiming_one_name_the_exact_name_then_the_first_suffix_wins(
        workspace: WorkspaceFolder) -> None:
    kept(workspace, "a", b"plain")  # a file named exactly "a"
    kept(workspace, "a.py", b"# Databricks notebook source\n")
    kept(workspace, "b.sql", b"-- Databricks notebook source\n")
    kept(workspace, "b.py", b"# Databricks notebook source\n")  # .py comes before .sql

    assert shown(workspace.children(ETL)) == [
        ("a", "FILE", None), ("a.py", "FILE", None),
        ("b", "NOTEBOOK", "PYTHON"), ("b.sql", "FILE", None)]
    assert workspace.status(f"{ETL}/b").kept.endswith("/b.py")
    assert workspace.status(f"{ETL}/b.sql").object_type == "FILE"
    assert workspace.kept_in(ETL, "b.py").path == f"{ETL}/b"
    assert workspace.kept_in(ETL, "a.py").path == f"{ETL}/a.py"


def test_links_special_files_and_files_being_written_are_not_objects(
        workspace: WorkspaceFolder, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the workspace's")
    kept(workspace, "real.txt", b"1")
    (workspace.root / "Users/ana/etl/link").symlink_to(outside)
    (workspace.root / "Users/ana/etl/file-link").symlink_to(outside / "secret.txt")
    kept(workspace, ".real.txt.123.headwater-tmp", b"half")
    (workspace.root / "Users/ana/other").symlink_to(outside)

    assert shown(workspace.children(ETL)) == [("real.txt", "FILE", None)]
    assert workspace.status(f"{ETL}/link") is None
    assert workspace.status(f"{ETL}/link/secret.txt") is None
    assert workspace.children("/Workspace/Users/ana/other") == []
    assert workspace.status("/Workspace/Users/ana/other/secret.txt") is None
    with pytest.raises(NotADirectoryError):
        workspace.make_folders(f"{ETL}/link/sub")
    assert list(outside.iterdir()) == [outside / "secret.txt"]


def test_an_import_is_written_whole_and_replaces_the_file_that_kept_the_object_before(
        workspace: WorkspaceFolder) -> None:
    assert workspace.make_folders(ETL) is True
    assert workspace.make_folders(ETL) is False
    sql = workspace.put(ETL, planned_import("load", ImportFormat.SOURCE, Language.SQL,
                                            b"SELECT 1"), None)
    assert (sql.path, sql.object_type, sql.language) == (f"{ETL}/load", "NOTEBOOK", "SQL")
    assert Path(sql.kept).read_bytes() == b"-- Databricks notebook source\nSELECT 1"

    # When it is overwritten as a Python notebook, its .sql file goes
    python = workspace.put(ETL, planned_import("load", ImportFormat.SOURCE, Language.PYTHON,
                                               b"# Databricks notebook source\nx = 1\n"), sql)

    folder = workspace.root / "Users/ana/etl"
    assert sorted(p.name for p in folder.iterdir()) == ["load.py"]
    assert (python.language, workspace.content(python)) == (
        "PYTHON", b"# Databricks notebook source\nx = 1\n")
    assert python.created_at is not None and python.modified_at is not None

    # And a file imported over the notebook (AUTO, no header) takes its place
    data = workspace.put(ETL, planned_import("load", ImportFormat.AUTO, None, b"raw"), python)
    assert sorted(p.name for p in folder.iterdir()) == ["load"]
    assert (data.object_type, data.size) == ("FILE", 3)


def test_a_write_that_fails_leaves_the_object_as_it_was(
        workspace: WorkspaceFolder, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace.make_folders(ETL)
    before = workspace.put(ETL, planned_import("a.txt", ImportFormat.RAW, None, b"old"), None)
    import headwater.engine.workspace_files as module

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module.os, "fsync", disk_full)
    with pytest.raises(OSError):
        workspace.put(ETL, planned_import("a.txt", ImportFormat.RAW, None, b"new" * 1000),
                      before)
    monkeypatch.undo()

    folder = workspace.root / "Users/ana/etl"
    assert [p.name for p in folder.iterdir()] == ["a.txt"]  # no temporary file left
    assert workspace.content(before) == b"old"


def test_deleting_a_notebook_removes_its_file_and_a_folder_goes_with_all_in_it(
        workspace: WorkspaceFolder) -> None:
    kept(workspace, "load.py", b"# Databricks notebook source\n")
    kept(workspace, "deep/er/x.txt", b"1")
    workspace.sync(f"{ETL}/bundle", archive({"a.py": b""}))

    workspace.delete(workspace.status(f"{ETL}/load"))
    workspace.delete(workspace.status(f"{ETL}/deep"))
    workspace.delete(workspace.status(f"{ETL}/bundle"))

    assert workspace.children(ETL) == []
    assert list(workspace.snapshots.glob("*.json")) == []  # the deploy's record went too
