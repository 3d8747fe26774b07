"""Pruning what headwater keeps on disk only to be quicker, and makes again when it is missing:
task environments (`<home>/envs/<hash>/`, a venv each, often hundreds of megabytes) and the
bare copies of jobs' Git repositories (`<home>/git/<hash>.git`). Without this they pile up,
one for each spec or repository ever used.

One goes once it was last used before the cutoff (`retention.caches_days`, 30 by default): its
folder's time, which every use sets (`entrypoints/environment.py`, `git_checkouts.py`). Each is
used under its lock file (`<folder>.lock`): an attempt holds its environment's shared for as
long as it runs, a run's checkout holds its Git copy's exclusively while it fetches and
exports. The pruner takes the lock exclusively without waiting: a cache someone holds is in use
and stays. It renames the folder first (one atomic step, under the lock), so a user that comes
next finds it missing and makes it again, never half removed; the renamed folder is then
removed, and what a crash left of one is removed by the next pass.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from headwater.engine.run_folders import folder_bytes, remove_folder
from headwater.entrypoints.filelock import locked_if_free

log = logging.getLogger(__name__)

__all__ = ["CACHE_FOLDERS", "CachesPruned", "prune_caches"]

CACHE_FOLDERS = ("envs", "git")  # under the home: task environments, Git copies
_REMOVING = ".removing-"  # the prefix of a cache renamed on its way out


@dataclass
class CachesPruned:
    """What a pass removed (or, dry, would remove)."""

    folders: int = 0
    bytes: int = 0


def prune_caches(home: Path, unused_before: datetime, dry_run: bool = False) -> CachesPruned:
    """Remove the caches under `home` last used before `unused_before` that nobody holds."""
    pruned = CachesPruned()
    for parent in (home / name for name in CACHE_FOLDERS):
        try:
            entries = sorted(parent.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for folder in entries:
            if not folder.is_dir() or folder.is_symlink():
                continue
            if folder.name.startswith(_REMOVING):  # a crash came before it was removed
                _remove(folder, pruned, dry_run)
                continue
            with locked_if_free(folder) as free:
                if not free or not _unused_since(folder, unused_before):
                    continue
                if dry_run:
                    _remove(folder, pruned, dry_run)
                    continue
                leaving = folder.with_name(f"{_REMOVING}{folder.name}")
                try:
                    os.replace(folder, leaving)
                except OSError:
                    log.exception("cannot remove the unused cache %s; the next pass tries "
                                  "again", folder)
                    continue
            _remove(leaving, pruned, dry_run)
    return pruned


def _unused_since(folder: Path, instant: datetime) -> bool:
    """Whether the folder was last used before `instant` (False once it is gone: another
    engine pruned it meanwhile)."""
    try:
        return datetime.fromtimestamp(folder.stat().st_mtime, UTC) < instant
    except FileNotFoundError:
        return False


def _remove(folder: Path, pruned: CachesPruned, dry_run: bool) -> None:
    pruned.folders += 1
    pruned.bytes += folder_bytes(folder) if dry_run else remove_folder(folder)
