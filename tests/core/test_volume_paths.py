"""The paths the Files API reaches (core/volume_paths.py): inside a volume, taken as written
or refused with the path named, never tidied into another."""

from __future__ import annotations

import pytest

from headwater.core.volume_paths import BadVolumePath, volume_path


@pytest.mark.parametrize(("text", "directory", "normal"), [
    ("/Volumes/main/raw/landing/orders.csv", False, "/Volumes/main/raw/landing/orders.csv"),
    ("/Volumes/main/raw/landing/2024/01/a b#?.csv", False,
     "/Volumes/main/raw/landing/2024/01/a b#?.csv"),
    ("/Volumes/main/raw/landing", True, "/Volumes/main/raw/landing"),
    ("/Volumes/main/raw/landing/", True, "/Volumes/main/raw/landing"),
    ("/Volumes/main/raw/landing/in/", True, "/Volumes/main/raw/landing/in"),
    ("/Volumes/main/raw/landing/.hidden", False, "/Volumes/main/raw/landing/.hidden"),
    ("/Volumes/main/raw/landing/ü...", False, "/Volumes/main/raw/landing/ü..."),
])
def test_a_path_in_a_volume_is_taken_as_written(text: str, directory: bool,
                                                normal: str) -> None:
    assert volume_path(text, directory=directory) == normal


@pytest.mark.parametrize(("text", "directory", "why"), [
    ("/Volumes/main/raw/landing/../../../../etc/passwd", False, "`..`"),
    ("/Volumes/main/raw/landing/..", True, "`..`"),
    ("/Volumes/main/raw/./landing/a", False, "`.`"),
    ("/Volumes/main/raw//landing/a", False, "empty names"),
    ("/Volumes/main/raw/landing/a/", False, "empty names"),
    ("/Volumes/main/raw/landing//", True, "empty names"),
    ("/Volumes/main/raw/landing", False, "a volume itself, a directory"),
    ("/Volumes/main/raw", False, "no place inside a volume"),
    ("/Volumes/main/raw", True, "no place inside a volume"),
    ("/Volumes/", True, "no place inside a volume"),
    ("/Volumes", True, "no place inside a volume"),
    ("/Volumesx/main/raw/landing", True, "Unity Catalog volumes only"),
    ("/tmp/x", False, "Unity Catalog volumes only"),
    ("dbfs:/Volumes/main/raw/landing/a", False, "Unity Catalog volumes only"),
    ("Volumes/main/raw/landing/a", False, "Unity Catalog volumes only"),
    ("/Workspace/Users/ana/a.csv", False, "Unity Catalog volumes only"),
    ("", True, "Unity Catalog volumes only"),
    ("/Volumes/main/raw/landing/a\x00b", False, "no path may hold"),
    ("/Volumes/main/raw/landing/\udcff", False, "no path may hold"),
    ("/Volumes/main/raw/landing/" + "é" * 128, False, "longer than 255 bytes"),
])
def test_a_path_outside_a_volume_is_refused_naming_it(text: str, directory: bool,
                                                      why: str) -> None:
    with pytest.raises(BadVolumePath) as refused:
        volume_path(text, directory=directory)

    message = str(refused.value)
    assert message.startswith(repr(text)) and why in message
    assert "give /Volumes/<catalog>/<schema>/<volume>" in message
