"""Jobs and their versions in the SQL store: keyed by id, deployed by key, deleted softly."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from store_builders import SETTINGS, T0, at

from headwater.errors import InvalidRequest, NotFound
from headwater.store import SqlStore


def test_a_new_job_starts_at_version_1_and_reads_back_equal(store: SqlStore) -> None:
    saved = store.create_job(SETTINGS, "jobs/etl.yml", T0, "ann")

    assert (saved.version, saved.name, saved.source, saved.creator) == (
        1, "etl", "jobs/etl.yml", "ann")
    assert saved.settings == SETTINGS
    assert saved.created_time == T0 and saved.created_time.tzinfo is not None
    assert store.get_job(saved.job_id) == saved
    assert store.get_job(saved.job_id, 1) == saved


def test_create_makes_a_new_job_every_time_even_with_the_same_name(store: SqlStore) -> None:
    first = store.create_job(SETTINGS, "a.yml", T0)
    second = store.create_job(SETTINGS, "a.yml", T0)

    assert first.job_id != second.job_id and (first.version, second.version) == (1, 1)
    assert store.list_jobs("ETL") == [first, second]  # exact name, ignoring case


def test_updating_with_the_same_settings_keeps_the_version(store: SqlStore) -> None:
    first = store.create_job(SETTINGS, "jobs/etl.yml", T0)
    # Key order does not make settings different.
    reordered = dict(reversed(list(copy.deepcopy(SETTINGS).items())))

    again = store.update_job(first.job_id, reordered, "elsewhere.yml", at(60), "bob")

    assert again == first


def test_changed_settings_add_the_next_version_and_keep_the_old(store: SqlStore) -> None:
    first = store.create_job(SETTINGS, "jobs/etl.yml", T0)
    changed = {**SETTINGS, "name": "etl2", "timeout_seconds": 600}

    second = store.update_job(first.job_id, changed, "api", at(60), "bob")
    third = store.update_job(first.job_id, SETTINGS, "api", at(120), "bob")

    assert (second.job_id, second.version, second.settings) == (first.job_id, 2, changed)
    assert second.name == "etl2"  # the job takes the name of its latest settings
    assert third.version == 3  # going back to old settings is still a change
    assert store.get_job(first.job_id) == third
    assert store.get_job(first.job_id, 1) == first
    assert store.get_job(first.job_id, 2) == second


def test_deploying_the_same_files_again_updates_their_job(store: SqlStore) -> None:
    key = "bundle/lab/dev/jobs/etl"
    first = store.deploy_job(SETTINGS, "a.yml", T0, "ann", key)
    same = store.deploy_job(SETTINGS, "a.yml", at(1), "ann", key)
    changed = store.deploy_job({**SETTINGS, "timeout_seconds": 5}, "a.yml", at(2), "ann", key)
    other = store.deploy_job(SETTINGS, "a.yml", at(3), "ann", "bundle/lab/prod/jobs/etl")

    assert same == first
    assert (changed.job_id, changed.version) == (first.job_id, 2)
    assert other.job_id != first.job_id
    assert store.job_by_deployment(key) == changed
    assert store.job_by_deployment("bundle/none") is None


def test_a_deleted_job_is_gone_but_its_versions_stay_and_its_key_is_free(
        store: SqlStore) -> None:
    key = "file//jobs/etl.json/jobs/etl"
    job = store.deploy_job(SETTINGS, "etl.json", T0, "ann", key)

    store.delete_job(job.job_id, at(1), "ann")

    with pytest.raises(NotFound, match=rf"^Job {job.job_id} does not exist\.$"):
        store.get_job(job.job_id)
    assert store.get_job(job.job_id, 1) == replace(job, deployment_key=None)  # runs read it
    assert store.list_jobs() == []
    assert store.deploy_job(SETTINGS, "etl.json", at(2), "ann", key).job_id != job.job_id
    with pytest.raises(NotFound):
        store.delete_job(job.job_id, at(3), "ann")


def test_jobs_are_listed_by_id_a_page_at_a_time(store: SqlStore) -> None:
    jobs = [store.create_job({**SETTINGS, "name": f"job{i}"}, "a.yml", T0) for i in range(5)]

    first = store.list_jobs(limit=2)
    rest = store.list_jobs(limit=10, after_id=first[-1].job_id)

    assert first + rest == jobs


def test_unknown_jobs_and_versions_raise_not_found(store: SqlStore) -> None:
    saved = store.create_job(SETTINGS, "a.yml", T0)

    with pytest.raises(NotFound, match=r"^Job 999 does not exist\.$"):
        store.get_job(999)
    with pytest.raises(NotFound, match=rf"^Job {saved.job_id} version 7 does not exist\.$"):
        store.get_job(saved.job_id, 7)


def test_the_jobs_of_a_bundle_and_target_are_found_by_their_key_s_prefix(
        store: SqlStore) -> None:
    dev = store.deploy_job(SETTINGS, "a.yml", T0, "ann", "bundle/shop_v2/dev/jobs/etl")
    store.deploy_job(SETTINGS, "a.yml", T0, "ann", "bundle/shopXv2/dev/jobs/etl")  # `_` is no wildcard
    store.deploy_job(SETTINGS, "a.yml", T0, "ann", "bundle/shop_v2/prod/jobs/etl")
    store.create_job(SETTINGS, "api", T0, "ann")
    gone = store.deploy_job(SETTINGS, "a.yml", T0, "ann", "bundle/shop_v2/dev/jobs/old")
    store.delete_job(gone.job_id, at(1), "ann")

    assert store.jobs_deployed_under("bundle/shop_v2/dev/jobs/") == [dev]


def test_deleting_several_jobs_audits_each_and_skips_those_already_deleted(
        store: SqlStore) -> None:
    first, second = (store.deploy_job(SETTINGS, "a.yml", T0, "ann", f"bundle/b/t/jobs/{key}")
                     for key in ("one", "two"))
    store.delete_job(second.job_id, at(1), "ann")

    deleted = store.delete_jobs([first.job_id, second.job_id], at(2), "bob")

    assert deleted == [first]  # as it was, its deployment key with it
    assert store.jobs_deployed_under("bundle/b/t/jobs/") == []
    assert store.get_job(first.job_id, 1).deployment_key is None  # the key is free again
    audited = [(e.entry.job_id, e.entry.actor) for e in store.audit_entries(action="job.deleted")]
    assert audited == [(second.job_id, "ann"), (first.job_id, "bob")]


def test_an_id_beyond_64_bits_is_the_caller_s_mistake_not_a_store_failure(
        store: SqlStore) -> None:
    # An id no table can hold names nothing: SQLite refuses to bind it, PostgreSQL compares it
    for read in (store.get_job, store.load_run):
        with pytest.raises((InvalidRequest, NotFound)):
            read(10**20)
