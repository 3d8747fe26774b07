"""The runs' folders under the logs directory (`<logs>/<run id>/...`, see `attempts.py`):
listing them, measuring them and removing them, for retention (`retention.py`), and setting
aside the folder a run finds under its id when it starts (`set_aside`).

Only folders named by a run id are ever removed: anything else an operator keeps there is
not headwater's to remove.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["STALE", "folder_bytes", "newest_change", "remove_folder", "run_folders",
           "set_aside"]

STALE = "stale"  # <logs>/stale/<run id>-<when>: folders of runs another store numbered


def run_folders(logs_dir: Path) -> dict[int, Path]:
    """run id -> folder, for every folder of `logs_dir` named by a run id."""
    try:
        entries = list(os.scandir(logs_dir))
    except FileNotFoundError:
        return {}
    except OSError:
        log.exception("cannot list the logs folder %s; the next prune tries again", logs_dir)
        return {}
    return {int(entry.name): Path(entry.path) for entry in entries
            if entry.name.isdigit() and entry.is_dir(follow_symlinks=False)}


def _stats(folder: Path) -> tuple[int, float]:
    """(bytes of its files, when it last changed in seconds) of a folder tree.

    When it last changed is the newest file's modification time: removing files changes the
    times of their folders, not of the files left, so a folder half removed by a prune that
    was killed still shows when its run wrote it. A tree without files (being made, as an
    attempt starts) counts its folders' times instead.
    """
    total, newest_file, newest_folder = 0, None, folder.lstat().st_mtime
    for root, directories, files in os.walk(folder):
        for name in (*directories, *files):
            try:
                stat = os.lstat(os.path.join(root, name))
            except FileNotFoundError:  # removed meanwhile (a log rotated)
                continue
            if name in files:
                total += stat.st_size
                newest_file = max(newest_file or stat.st_mtime, stat.st_mtime)
            else:
                newest_folder = max(newest_folder, stat.st_mtime)
    return total, newest_folder if newest_file is None else newest_file


def folder_bytes(folder: Path) -> int:
    """The bytes of the files in a folder tree; 0 when it is gone."""
    try:
        return _stats(folder)[0]
    except OSError:  # gone meanwhile, or unreadable: counted as nothing
        return 0


def newest_change(folder: Path) -> datetime | None:
    """When anything in a folder tree last changed (an aware UTC instant); None when the
    folder is gone (another engine removed it meanwhile) or cannot be read (then it is left
    alone)."""
    try:
        return datetime.fromtimestamp(_stats(folder)[1], UTC)
    except OSError:
        return None


def remove_folder(folder: Path) -> int:
    """Remove a pruned run's folder (or an unused cache); the bytes it held (0 if it was
    gone, or could not be removed: logged, and tried again on the next prune)."""
    size = folder_bytes(folder)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return 0
    except OSError:
        log.exception("cannot remove the pruned folder %s; the next prune tries again",
                      folder)
        return 0
    return size



def set_aside(logs_dir: Path, run_id: int, now: datetime) -> Path | None:
    """Move a folder found under a run's id as the run starts to `<logs>/stale/`; where it
    went (None when there was none).

    A run that starts has no attempts yet, so such a folder is another run's: one a fresh or
    restored store numbered the same (run ids start again from what the store holds). Left
    there, its attempts' records would stand for the new run's (an exit found where an
    attempt is to start is adopted, as a start re-issued after a crash is), and the new run
    would end with results it never made. Kept, not removed: its logs are someone's.
    """
    folder = logs_dir / str(run_id)
    if not folder.is_dir():
        return None
    target = logs_dir / STALE / f"{run_id}-{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder, target)
    log.warning("run %s found %s, left by another run numbered %s (a fresh or restored store "
                "on this home); moved it to %s", run_id, folder, run_id, target)
    return target
