"""`RunsPruner`: forgets runs that ended before the retention cutoff, rows first, files after.

Rows go in batches, one short transaction each (`Store.prune_runs`), so that SQLite's writer
and other engines wait little; then the pruned runs' folders under the logs directory go.
A kill between the two leaves folders whose run is gone: every pass ends by sweeping those
(`core/retention.folders_to_remove`: only folders of runs missing from the store and unchanged
since the cutoff, never the folder of a run being created, whose row is stored first).

Engines call `tick(now)` on every turn of their loop: it does nothing until a pass is due (at
start, then every `policy.every`), and then one batch per turn until the pass is done, so the
engine goes on driving its runs while it prunes. `prune` does a whole pass at once, for
`headwater runs prune`. Several engines may prune the same store at once: each batch skips
the runs another holds, and deleting what is gone already deletes nothing.

An engine's pass also removes the task environments and Git copies of its home that nobody
used for `retention.caches_days` (`cache_pruning.py`), even when every run is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from headwater.core.retention import KeepReason, RetentionPolicy, folders_to_remove
from headwater.engine.cache_pruning import prune_caches
from headwater.engine.run_folders import folder_bytes, newest_change, remove_folder, run_folders
from headwater.ports import PrunedBatch, Store

log = logging.getLogger(__name__)

__all__ = ["PruneReport", "RunsPruner"]

_EXISTS_SLICE = 1000  # run ids asked about per query while sweeping folders


@dataclass
class PruneReport:
    """What a pass removed (or, dry, would remove)."""

    cutoff: datetime
    runs: int = 0
    task_runs: int = 0
    folders: int = 0
    bytes: int = 0
    kept: dict[KeepReason, int] = field(default_factory=dict)  # runs kept past the cutoff

    def add(self, batch: PrunedBatch) -> None:
        self.runs += len(batch.run_ids)
        self.task_runs += batch.task_runs
        for reason in batch.kept.values():
            if reason is not KeepReason.RECENT:
                self.kept[reason] = self.kept.get(reason, 0) + 1


class RunsPruner:
    """Prunes one store's old runs and their folders under `logs_dir`, and, once a pass, the
    unused caches under `caches_home` (`cache_pruning.py`) when one is given."""

    def __init__(self, store: Store, logs_dir: Path, policy: RetentionPolicy,
                 actor: str, caches_home: Path | None = None) -> None:
        self.store, self.logs_dir, self.policy, self.actor = store, logs_dir, policy, actor
        self.caches_home = caches_home
        self.next_pass: datetime | None = None  # None: due at once (an engine's start)
        self.after: tuple[datetime, int] | None = None  # where the pass under way has got
        self.report: PruneReport | None = None  # the pass under way

    def tick(self, now: datetime) -> PruneReport | None:
        """One batch of the pass under way, or of a new one if due; the report of a pass
        that this batch finished, else None."""
        before = self.policy.cutoff(now)
        if self.report is None:
            if self.next_pass is not None and now < self.next_pass:
                return None
            self.sweep_caches(now)
            if before is None:  # every run is kept
                self.end_pass(now)
                return None
            self.report = PruneReport(before)
        report = self.report
        batch = self.batch(report, now, dry_run=False)
        if batch.next_after is not None:
            self.after = batch.next_after
            return None
        self.sweep_folders(report, dry_run=False)
        self.end_pass(now)
        if report.runs or report.folders:
            log.info("pruned %s runs (%s task runs) that ended before %s; removed %s folders, "
                     "%s bytes", report.runs, report.task_runs, report.cutoff.isoformat(),
                     report.folders, report.bytes)
        return report

    def sweep_caches(self, now: datetime) -> None:
        """Remove the task environments and Git copies unused since the caches' cutoff."""
        unused_before = self.policy.caches_cutoff(now)
        if self.caches_home is None or unused_before is None:
            return
        pruned = prune_caches(self.caches_home, unused_before)
        if pruned.folders:
            log.info("removed %s task environments and Git copies unused since %s, %s bytes",
                     pruned.folders, unused_before.isoformat(), pruned.bytes)

    def end_pass(self, now: datetime) -> None:
        """Forget the pass under way (done, or failed); the next is due `policy.every` on."""
        self.report, self.after = None, None
        self.next_pass = now + self.policy.every

    def prune(self, now: datetime, before: datetime, dry_run: bool = False) -> PruneReport:
        """A whole pass: every run that ended before `before` and that nothing keeps, and
        every folder left by a run that is gone."""
        report = PruneReport(before)
        self.after = None
        while (batch := self.batch(report, now, dry_run)).next_after is not None:
            self.after = batch.next_after
        self.after = None
        self.sweep_folders(report, dry_run)
        return report

    def batch(self, report: PruneReport, now: datetime, dry_run: bool) -> PrunedBatch:
        """Prune one batch of rows, then the folders of its runs."""
        batch = self.store.prune_runs(report.cutoff, now, self.actor, self.policy.batch,
                                      self.after, dry_run)
        report.add(batch)
        for run_id in batch.run_ids:
            folder = self.logs_dir / str(run_id)
            if folder.exists():
                report.folders += 1
                report.bytes += folder_bytes(folder) if dry_run else remove_folder(folder)
        return batch

    def sweep_folders(self, report: PruneReport, dry_run: bool) -> None:
        """Remove the folders of runs that are gone (a crash came between their rows and
        their files) and that nothing changed since the cutoff."""
        folders = run_folders(self.logs_dir)
        ids = sorted(folders)
        existing: set[int] = set()
        for start in range(0, len(ids), _EXISTS_SLICE):
            existing |= self.store.existing_runs(ids[start:start + _EXISTS_SLICE])
        changes = {run_id: newest_change(folders[run_id]) for run_id in ids
                   if run_id not in existing}
        orphans = {run_id: changed for run_id, changed in changes.items() if changed}
        for run_id in folders_to_remove(orphans, existing, report.cutoff):
            report.folders += 1
            report.bytes += (folder_bytes(folders[run_id]) if dry_run
                             else remove_folder(folders[run_id]))
