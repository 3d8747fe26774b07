"""The volumes of the Files API (engine/volume_files.py) on a real file system: `/Volumes/...`
in the DBFS folder, each file written whole or not at all, listed a page at a time, and
nothing reached through a symbolic link, so nothing outside the folder."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.engine.volume_files import VolumeFolder
from headwater.ports import VolumeEntry

LANDING = "/Volumes/main/raw/landing"


@pytest.fixture
def volumes(tmp_path: Path) -> VolumeFolder:
    return VolumeFolder(tmp_path / "dbfs")


def on_disk(volumes: VolumeFolder, path: str) -> Path:
    return volumes.root / path.lstrip("/")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".headwater-tmp"))


def test_a_file_written_in_parts_reads_back_in_the_dbfs_folder_with_its_folders_made(
        volumes: VolumeFolder) -> None:
    written = volumes.write(f"{LANDING}/2024/orders.csv", iter([b"id,", b"amount\n", b"1,10\n"]),
                            overwrite=False)

    assert (written.path, written.is_directory, written.size) == (
        f"{LANDING}/2024/orders.csv", False, 15)
    kept = volumes.root / "Volumes/main/raw/landing/2024/orders.csv"
    assert kept.read_bytes() == b"id,amount\n1,10\n"
    assert written.modified_at == kept.stat().st_mtime_ns // 1_000_000
    assert volumes.status(f"{LANDING}/2024/orders.csv") == written
    entry, handle = volumes.open(f"{LANDING}/2024/orders.csv")
    with handle:
        assert (entry, handle.read()) == (written, b"id,amount\n1,10\n")
    assert volumes.status(f"{LANDING}/2024") == VolumeEntry(
        f"{LANDING}/2024", True, None, kept.parent.stat().st_mtime_ns // 1_000_000)
    assert volumes.status(f"{LANDING}/nope.csv") is None
    assert leftovers(kept.parent) == []


def test_overwrite_replaces_a_file_and_without_it_anything_there_stays(
        volumes: VolumeFolder) -> None:
    volumes.write(f"{LANDING}/a.csv", [b"old"], overwrite=True)
    volumes.make_directories(f"{LANDING}/folder")

    volumes.write(f"{LANDING}/a.csv", [b"new"], overwrite=True)
    with pytest.raises(FileExistsError) as exists:
        volumes.write(f"{LANDING}/a.csv", [b"newer"], overwrite=False)
    with pytest.raises(FileExistsError):
        volumes.write(f"{LANDING}/folder", [b"x"], overwrite=False)
    with pytest.raises(IsADirectoryError):
        volumes.write(f"{LANDING}/folder", [b"x"], overwrite=True)

    assert exists.value.filename == f"{LANDING}/a.csv"  # the volume's path, not the server's
    assert on_disk(volumes, f"{LANDING}/a.csv").read_bytes() == b"new"
    assert on_disk(volumes, f"{LANDING}/folder").is_dir()
    assert leftovers(on_disk(volumes, LANDING)) == []


def test_an_upload_that_fails_midway_leaves_nothing_and_the_old_file_whole(
        volumes: VolumeFolder) -> None:
    volumes.write(f"{LANDING}/a.csv", [b"old"], overwrite=True)

    def broken() -> Iterator[bytes]:
        yield b"half of the new "
        raise ConnectionResetError("the client left")

    with pytest.raises(ConnectionResetError):
        volumes.write(f"{LANDING}/a.csv", broken(), overwrite=True)
    with pytest.raises(ConnectionResetError):
        volumes.write(f"{LANDING}/b.csv", broken(), overwrite=False)

    assert on_disk(volumes, f"{LANDING}/a.csv").read_bytes() == b"old"
    assert sorted(p.name for p in on_disk(volumes, LANDING).iterdir()) == ["a.csv"]


def test_a_listing_goes_by_name_a_page_at_a_time_without_uploads_under_way(
        volumes: VolumeFolder) -> None:
    for name in ["c.csv", "a.csv", "b.csv"]:
        volumes.write(f"{LANDING}/{name}", [name.encode()], overwrite=True)
    volumes.make_directories(f"{LANDING}/d")
    (on_disk(volumes, LANDING) / ".0123abcd.headwater-tmp").write_bytes(b"half")
    os.mkfifo(on_disk(volumes, LANDING) / "pipe")
    (on_disk(volumes, LANDING) / "nope.csv").symlink_to("a.csv")

    first, more = volumes.page(LANDING, None, 2)
    second, last = volumes.page(LANDING, first[-1].name, 2)

    assert ([e.name for e in first], more) == (["a.csv", "b.csv"], True)
    assert ([e.name for e in second], last) == (["c.csv", "d"], False)
    assert [(e.path, e.is_directory, e.size) for e in second] == [
        (f"{LANDING}/c.csv", False, 5), (f"{LANDING}/d", True, None)]
    assert volumes.page(LANDING, "d", 2) == ([], False)


def test_a_directory_is_made_once_and_a_file_in_its_way_is_named(
        volumes: VolumeFolder) -> None:
    assert volumes.make_directories(f"{LANDING}/in/2024") is True
    assert volumes.make_directories(f"{LANDING}/in/2024") is False
    volumes.write(f"{LANDING}/in/a.csv", [b"1"], overwrite=True)

    with pytest.raises(NotADirectoryError) as in_the_way:
        volumes.make_directories(f"{LANDING}/in/a.csv/x")
    with pytest.raises(NotADirectoryError):
        volumes.write(f"{LANDING}/in/a.csv/b.csv", [b"2"], overwrite=True)
    with pytest.raises(NotADirectoryError):
        volumes.page(f"{LANDING}/in/a.csv", None, 10)

    assert in_the_way.value.filename == f"{LANDING}/in/a.csv"
    assert on_disk(volumes, f"{LANDING}/in/a.csv").read_bytes() == b"1"


def test_delete_takes_a_file_or_an_empty_directory_and_says_what_else_is_there(
        volumes: VolumeFolder) -> None:
    volumes.write(f"{LANDING}/in/a.csv", [b"1"], overwrite=True)

    with pytest.raises(OSError) as not_empty:
        volumes.delete(f"{LANDING}/in", directory=True)
    with pytest.raises(IsADirectoryError):
        volumes.delete(f"{LANDING}/in", directory=False)
    with pytest.raises(NotADirectoryError):
        volumes.delete(f"{LANDING}/in/a.csv", directory=True)
    volumes.delete(f"{LANDING}/in/a.csv", directory=False)
    volumes.delete(f"{LANDING}/in", directory=True)
    with pytest.raises(FileNotFoundError):
        volumes.delete(f"{LANDING}/in", directory=True)

    assert not_empty.value.errno == errno.ENOTEMPTY
    assert not on_disk(volumes, f"{LANDING}/in").exists()
    assert on_disk(volumes, LANDING).is_dir()


def test_a_link_inside_the_volumes_never_leads_out_of_the_folder(
        volumes: VolumeFolder, tmp_path: Path) -> None:
    # Given a task made links in a volume to a folder and a file outside the DBFS folder
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not yours")
    volumes.make_directories(LANDING)
    (on_disk(volumes, LANDING) / "out").symlink_to(outside)
    (on_disk(volumes, LANDING) / "secret.txt").symlink_to(outside / "secret.txt")

    # Then nothing is read, listed, written or deleted through them
    assert volumes.status(f"{LANDING}/out") is None
    assert volumes.status(f"{LANDING}/out/secret.txt") is None
    assert volumes.status(f"{LANDING}/secret.txt") is None
    with pytest.raises(FileNotFoundError):
        volumes.open(f"{LANDING}/secret.txt")
    with pytest.raises(NotADirectoryError):
        volumes.open(f"{LANDING}/out/secret.txt")
    with pytest.raises(NotADirectoryError):
        volumes.page(f"{LANDING}/out", None, 10)
    with pytest.raises(NotADirectoryError):
        volumes.write(f"{LANDING}/out/new.txt", [b"x"], overwrite=True)
    with pytest.raises(NotADirectoryError):
        volumes.make_directories(f"{LANDING}/out/sub")
    with pytest.raises(NotADirectoryError):
        volumes.delete(f"{LANDING}/out/secret.txt", directory=False)
    with pytest.raises(FileNotFoundError):
        volumes.delete(f"{LANDING}/secret.txt", directory=False)
    assert volumes.page(LANDING, None, 10) == ([], False)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"not yours"

    # And a link where a volume's folder would be is no way out either
    (volumes.root / "Volumes" / "main" / "elsewhere").symlink_to(outside)
    with pytest.raises(NotADirectoryError) as through_link:
        volumes.write("/Volumes/main/elsewhere/landing/a.csv", [b"x"], overwrite=True)
    assert through_link.value.filename == "/Volumes/main/elsewhere"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_a_special_file_is_neither_a_file_nor_a_directory(volumes: VolumeFolder) -> None:
    volumes.make_directories(LANDING)
    os.mkfifo(on_disk(volumes, LANDING) / "pipe")

    assert volumes.status(f"{LANDING}/pipe") is None
    with pytest.raises(FileNotFoundError):
        volumes.open(f"{LANDING}/pipe")  # never blocks waiting for a writer
    with pytest.raises(IsADirectoryError):
        volumes.open(LANDING)
