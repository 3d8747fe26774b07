"""`Service.prune_runs`, the door of `headwater runs prune`: admins only, a day at least."""

from __future__ import annotations

from dataclasses import replace

import pytest

from headwater.errors import InvalidRequest, PermissionDenied
from headwater.service import Service


def test_pruning_less_than_a_day_is_refused_saying_what_is_allowed(service: Service) -> None:
    with pytest.raises(InvalidRequest, match="at least 1, got 0"):
        service.prune_runs(0)


def test_only_an_admin_may_prune(service: Service) -> None:
    with pytest.raises(PermissionDenied, match="Only admins may prune run history"):
        replace(service, admin=False).prune_runs(30)


def test_an_empty_store_prunes_nothing(service: Service) -> None:
    report = service.prune_runs(30)
    assert (report.runs, report.task_runs, report.folders, report.bytes) == (0, 0, 0, 0)
    assert service.store.audit_entries(action="runs.pruned") == []
