"""`dbutils.fs` on this machine: Databricks paths mapped to the DBFS folder, and the commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.runtime.dbfs import FsUtils, dbfs_root, local_path


def test_databricks_paths_map_into_the_dbfs_folder_and_file_paths_stay(tmp_path: Path) -> None:
    root = tmp_path / "dbfs"
    assert local_path("dbfs:/tmp/x.csv", root) == root / "tmp" / "x.csv"
    assert local_path("/tmp/x.csv", root) == root / "tmp" / "x.csv"  # no scheme: DBFS
    assert local_path("/Volumes/main/raw/in/a.csv", root) == \
        local_path("dbfs:/Volumes/main/raw/in/a.csv", root) == \
        root / "Volumes" / "main" / "raw" / "in" / "a.csv"
    assert local_path("file:/etc/hosts", root) == Path("/etc/hosts")
    assert local_path("dbfs:/", root) == root
    assert dbfs_root({"HEADWATER_HOME": "/h"}) == Path("/h/dbfs")
    assert dbfs_root({"HEADWATER_DBFS_DIR": "/d", "HEADWATER_HOME": "/h"}) == Path("/d")


def test_file_workspace_paths_are_in_the_folder_standing_for_the_workspace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, workspace = tmp_path / "dbfs", tmp_path / "workspace"
    monkeypatch.setenv("HEADWATER_WORKSPACE_DIR", str(workspace))
    (workspace / "Shared").mkdir(parents=True)
    (workspace / "Shared" / "a.csv").write_text("x,y\n")

    assert local_path("file:/Workspace/Shared/a.csv", root) == workspace / "Shared" / "a.csv"
    assert FsUtils(root).head("file:/Workspace/Shared/a.csv") == "x,y\n"
    assert [info.name for info in FsUtils(root).ls("file:/Workspace/Shared")] == ["a.csv"]
    # Leaving the workspace by `..` is the machine's own path, as any file: path.
    assert local_path("file:/Workspace/../etc/hosts", root) == Path("/etc/hosts")
    # Without the scheme, /Workspace is a DBFS path, as on Databricks.
    assert local_path("/Workspace/Shared/a.csv", root) == root / "Workspace" / "Shared" / "a.csv"


def test_a_path_never_leads_above_the_folder_and_must_be_absolute(tmp_path: Path) -> None:
    assert local_path("dbfs:/../etc/passwd", tmp_path) == tmp_path / "etc" / "passwd"
    assert local_path("/Volumes/../../x", tmp_path) == tmp_path / "x"
    with pytest.raises(ValueError, match="'relative/x' is not a Databricks path"):
        local_path("relative/x", tmp_path)


def test_the_file_commands_as_a_notebook_uses_them(tmp_path: Path) -> None:
    fs = FsUtils(tmp_path)
    volume = "/Volumes/main/raw/landing"

    fs.put(f"{volume}/a.csv", "id\n1\n")
    with pytest.raises(FileExistsError):
        fs.put(f"{volume}/a.csv", "again")
    fs.put(f"{volume}/a.csv", "id\n1\n2\n", overwrite=True)
    fs.mkdirs(f"{volume}/archive")

    assert [(f.name, f.size) for f in fs.ls(volume)] == [("a.csv", 7), ("archive/", 0)]
    assert fs.ls(volume)[0].path == f"{volume}/a.csv"
    assert fs.head(f"{volume}/a.csv", 4) == "id\n1"
    fs.cp(f"{volume}/a.csv", f"{volume}/archive/")
    fs.mv(f"{volume}/a.csv", "dbfs:/tmp/b.csv")
    assert fs.head("/tmp/b.csv") == "id\n1\n2\n"
    assert [f.name for f in fs.ls(f"{volume}/archive")] == ["a.csv"]
    with pytest.raises(IsADirectoryError):
        fs.rm(volume)
    assert fs.rm(volume, recurse=True)
    assert not fs.rm(f"{volume}/gone.csv")
    with pytest.raises(FileNotFoundError, match=f"File {volume} does not exist"):
        fs.ls(volume)
