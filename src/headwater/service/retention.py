"""`headwater runs prune`: forget the runs that ended more than N days ago, now.

Engines prune on their own (`engine/retention.py`); this is the operator's door to the same
pass, with a cutoff of their choosing and a dry run.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from headwater.core.retention import RetentionPolicy
from headwater.engine.retention import PruneReport, RunsPruner
from headwater.errors import InvalidRequest
from headwater.ports import Clock, Store
from headwater.service.access import AccessMixin


class RetentionMixin(AccessMixin):
    """Pruning run history on demand: admins only; mixed into `Service`."""

    store: Store
    clock: Clock
    user: str
    logs_dir: Path

    def prune_runs(self, older_than_days: int, dry_run: bool = False) -> PruneReport:
        """Delete the runs that ended more than `older_than_days` days ago and that nothing
        keeps (`core/retention.py`), and their folders; with `dry_run`, only count them.

        Raises:
            InvalidRequest: when `older_than_days` is below 1.
        """
        self.require_admin("prune run history")
        if older_than_days < 1:
            raise InvalidRequest(f"older_than_days must be a number of days of at least 1, "
                                 f"got {older_than_days}")
        now = self.clock.now()
        policy = RetentionPolicy(runs_days=older_than_days)
        return RunsPruner(self.store, self.logs_dir, policy, self.user).prune(
            now, now - timedelta(days=older_than_days), dry_run)


__all__ = ["RetentionMixin"]
