"""The runs' folders under the logs directory (`<logs>/<run id>/...`, see `attempts.py`):
listing them, measuring them and removing them, for retention (`retention.py`).

Only folders named by a run id are ever touched: anything else an operator keeps there is
not headwater's to remove.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["folder_bytes", "newest_change", "remove_folder", "run_folders"]


def run_folders(logs_dir: Path) -> dict[int, Path]:
    """run id -> folder, for every folder of `logs_dir` named by a run id."""
    try:
        entries = list(os.scandir(logs_dir))
    except FileNotFoundError:
        return {}
    return {int(entry.name): Path(entry.path) for entry in entries
            if entry.name.isdigit() and entry.is_dir(follow_symlinks=False)}


def _stats(folder: Path) -> tuple[int, float]:
    """(bytes of its files, newest modification time in seconds) of a folder tree."""
    total, newest = 0, folder.lstat().st_mtime
    for root, directories, files in os.walk(folder):
        for name in (*directories, *files):
            try:
                stat = os.lstat(os.path.join(root, name))
            except FileNotFoundError:  # removed meanwhile (a log rotated)
                continue
            newest = max(newest, stat.st_mtime)
            total += stat.st_size if name in files else 0
    return total, newest


def folder_bytes(folder: Path) -> int:
    """The bytes of the files in a folder tree; 0 when it is gone."""
    try:
        return _stats(folder)[0]
    except FileNotFoundError:
        return 0


def newest_change(folder: Path) -> datetime | None:
    """When anything in a folder tree last changed (an aware UTC instant); None when the
    folder is gone (another engine removed it meanwhile)."""
    try:
        return datetime.fromtimestamp(_stats(folder)[1], UTC)
    except FileNotFoundError:
        return None


def remove_folder(folder: Path) -> int:
    """Remove a run's folder; the bytes it held (0 if it was gone, or could not be removed:
    logged, and tried again on the next prune)."""
    size = folder_bytes(folder)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return 0
    except OSError:
        log.exception("cannot remove the folder %s of a pruned run; the next prune tries "
                      "again", folder)
        return 0
    return size
