"""The server's workspace folder (engine/workspace_files.py) on a real file system: a deploy's
archive makes a folder hold exactly the bundle's files, in place, and a bad archive changes
nothing."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from headwater.engine.workspace_files import BadArchive, WorkspaceFolder

FILES = "/Workspace/Users/ana/.bundle/shop/dev/files"


def archive(files: dict[str, bytes], links: dict[str, str] | None = None,
            modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), (modes or {}).get(name, 0o644)
            tar.addfile(info, io.BytesIO(data))
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
