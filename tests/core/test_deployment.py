"""Deployment keys: which deployed jobs belong to a bundle and target, and which of them its
files no longer define."""

from __future__ import annotations

import pytest

from headwater.core.deployment import (
    bundle_key,
    bundle_prefix,
    deployment_source,
    file_key,
    is_left_out,
    resource_key,
    target_of,
    unrooted_prefix,
)

DEV = bundle_prefix("shop", "dev")


@pytest.mark.parametrize(("key", "left_out"), [
    (bundle_key("shop", "dev", "report"), True),  # deployed, no longer in the files
    (bundle_key("shop", "dev", "orders"), False),  # still in the files
    (bundle_key("shop", "prod", "report"), False),  # another target
    (bundle_key("shop_v2", "dev", "report"), False),  # another bundle, a longer name
    (bundle_key("Shop", "dev", "report"), False),  # names are case-sensitive
    (bundle_key("shop", "dev/jobs", "report"), False),  # not a resource key of this target
    (file_key("/srv/shop/dev/jobs/report.json", "report"), False),  # a plain job file
    (None, False),  # a job made through the API
])
def test_only_the_left_out_jobs_of_the_same_bundle_and_target_are_removed(
        key: str | None, left_out: bool) -> None:
    assert is_left_out(key, DEV, kept={"orders"}) is left_out


def test_a_bundle_without_targets_deploys_to_the_default_one() -> None:
    assert bundle_key("shop", None, "orders") == "bundle/shop/default/jobs/orders"
    assert is_left_out("bundle/shop/default/jobs/orders", bundle_prefix("shop", None), kept=())


def test_a_server_deployment_s_keys_hold_its_root_path_and_name_their_old_form() -> None:
    root = "/Workspace/Users/ann/.bundle/shop/dev"
    prefix = bundle_prefix("shop", "dev", root)

    assert bundle_key("shop", "dev", "etl", root) == \
        "bundle/shop/dev/root/Workspace/Users/ann/.bundle/shop/dev/jobs/etl"
    assert resource_key(bundle_key("shop", "dev", "etl", root), prefix) == "etl"
    # A local deployment's keys and a server's never match each other's prefix.
    assert resource_key(bundle_key("shop", "dev", "etl"), prefix) is None
    assert resource_key(bundle_key("shop", "dev", "etl", root), bundle_prefix("shop", "dev")) \
        is None
    assert unrooted_prefix(prefix) == "bundle/shop/dev/jobs/"
    assert unrooted_prefix(bundle_prefix("shop", "dev")) is None
    assert unrooted_prefix("file//srv/a.json/jobs/") is None


def test_the_target_of_a_deployment_key() -> None:
    assert target_of(bundle_key("shop", "prod", "etl")) == "prod"
    assert target_of(bundle_key("shop", "dev", "etl", "/Workspace/Users/ana/.bundle")) == "dev"
    assert target_of(bundle_key("shop", None, "etl")) is None  # a bundle without targets
    assert target_of(file_key("/srv/jobs/etl.yml", "etl")) is None



def test_a_deployment_key_in_words_for_the_job_page() -> None:
    assert deployment_source(file_key("/srv/jobs/etl.yml", "nightly")) == (
        "the job file /srv/jobs/etl.yml (job nightly)")
    assert deployment_source(bundle_key("shop", "dev", "ingest")) == "bundle shop (target dev)"
    assert deployment_source(bundle_key("shop", None, "ingest", "/Workspace/Users/ana/x")) == (
        "bundle shop (target default)")
