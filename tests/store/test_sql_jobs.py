"""Jobs and their versions in the SQL store."""

from __future__ import annotations

import copy

import pytest
from store_builders import SETTINGS, T0, at

from headwater.errors import NotFound
from headwater.store import SqlStore


def test_a_new_job_starts_at_version_1_and_reads_back_equal(store: SqlStore) -> None:
    saved = store.save_job("etl", SETTINGS, "jobs/etl.yml", T0)

    assert (saved.version, saved.name, saved.source) == (1, "etl", "jobs/etl.yml")
    assert saved.settings == SETTINGS
    assert saved.created_time == T0 and saved.created_time.tzinfo is not None
    assert store.get_job(saved.job_id) == saved
    assert store.get_job(saved.job_id, 1) == saved


def test_saving_the_same_settings_again_returns_the_same_version(store: SqlStore) -> None:
    first = store.save_job("etl", SETTINGS, "jobs/etl.yml", T0)
    # Key order does not make settings different.
    reordered = dict(reversed(list(copy.deepcopy(SETTINGS).items())))

    again = store.save_job("etl", reordered, "elsewhere.yml", at(60))

    assert again == first


def test_changed_settings_add_the_next_version_and_keep_the_old(store: SqlStore) -> None:
    first = store.save_job("etl", SETTINGS, "jobs/etl.yml", T0)
    changed = {**SETTINGS, "timeout_seconds": 600}

    second = store.save_job("etl", changed, "api", at(60))
    third = store.save_job("etl", SETTINGS, "api", at(120))

    assert (second.job_id, second.version, second.settings) == (first.job_id, 2, changed)
    assert third.version == 3  # going back to old settings is still a change
    assert store.get_job(first.job_id) == third
    assert store.get_job(first.job_id, 1) == first
    assert store.get_job(first.job_id, 2) == second


def test_jobs_are_found_by_name_and_listed(store: SqlStore) -> None:
    etl = store.save_job("etl", SETTINGS, "a.yml", T0)
    other = store.save_job("report", {**SETTINGS, "name": "report"}, "b.yml", T0)
    etl2 = store.save_job("etl", {**SETTINGS, "max_concurrent_runs": 2}, "a.yml", at(1))

    assert store.job_by_name("etl") == etl2
    assert store.job_by_name("nothing") is None
    assert store.list_jobs() == [etl2, other]
    assert etl.job_id != other.job_id


def test_unknown_jobs_and_versions_raise_not_found(store: SqlStore) -> None:
    saved = store.save_job("etl", SETTINGS, "a.yml", T0)

    with pytest.raises(NotFound, match=r"^Job 999 does not exist\.$"):
        store.get_job(999)
    with pytest.raises(NotFound, match=rf"^Job {saved.job_id} version 7 does not exist\.$"):
        store.get_job(saved.job_id, 7)
