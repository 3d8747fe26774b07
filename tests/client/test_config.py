"""Which server a command acts on, and with which token: options, environment, profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.client.config import NamedServer, Remote, remote_from, server_in_environment
from headwater.errors import InvalidRequest

PROFILES = """\
[DEFAULT]
host = http://127.0.0.1:8080
token = dapi-default

[staging]
host = http://127.0.0.1:9090/
token = dapi-staging
"""


def test_no_host_means_the_local_state_store(tmp_path: Path) -> None:
    assert remote_from(None, None, {}, tmp_path) is None


def test_the_host_comes_from_the_option_or_the_environment(tmp_path: Path) -> None:
    env = {"DATABRICKS_HOST": "http://127.0.0.1:1/", "DATABRICKS_TOKEN": "dapi-env"}

    assert remote_from(None, None, env, tmp_path) == Remote("http://127.0.0.1:1", "dapi-env")
    assert remote_from("http://127.0.0.1:2", None, env, tmp_path) == Remote(
        "http://127.0.0.1:2", "dapi-env")


def test_a_profile_names_the_server_and_its_token(tmp_path: Path) -> None:
    (tmp_path / ".databrickscfg").write_text(PROFILES)

    assert remote_from(None, "staging", {}, tmp_path) == Remote("http://127.0.0.1:9090",
                                                                 "dapi-staging")
    assert remote_from(None, None, {"DATABRICKS_CONFIG_PROFILE": "DEFAULT"}, tmp_path) == \
        Remote("http://127.0.0.1:8080", "dapi-default")
    with pytest.raises(InvalidRequest, match=r"no profile 'prod' .*profiles: staging"):
        remote_from(None, "prod", {}, tmp_path)


def test_a_host_without_a_token_says_where_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="set DATABRICKS_TOKEN"):
        remote_from("http://127.0.0.1:3", None, {}, tmp_path)


def test_the_server_the_environment_names_and_the_variable_that_names_it(tmp_path: Path) -> None:
    (tmp_path / ".databrickscfg").write_text(PROFILES)
    by_profile = {"DATABRICKS_CONFIG_PROFILE": "staging"}

    assert server_in_environment({}, tmp_path) is None
    assert server_in_environment({"DATABRICKS_HOST": ""}, tmp_path) is None
    assert server_in_environment({"DATABRICKS_HOST": "http://127.0.0.1:1/"}, tmp_path) == \
        NamedServer("http://127.0.0.1:1", "DATABRICKS_HOST")  # no token needed to name it
    assert server_in_environment(by_profile, tmp_path) == \
        NamedServer("http://127.0.0.1:9090", "DATABRICKS_CONFIG_PROFILE")
    assert server_in_environment({**by_profile, "DATABRICKS_HOST": "http://h:2"}, tmp_path) == \
        NamedServer("http://h:2", "DATABRICKS_HOST")  # the host wins, as in remote_from


@pytest.mark.parametrize(("host", "said"), [
    ("127.0.0.1:8080", "the host '127.0.0.1:8080' is not a URL: write it with its scheme, "
                       "http://127.0.0.1:8080"),
    ("ftp://127.0.0.1", "the host 'ftp://127.0.0.1' is not a URL"),
    ("http://127.0.0.1:8080/api", "the host 'http://127.0.0.1:8080/api' has a path: name the "
                                  "server alone, http://127.0.0.1:8080")])
def test_a_host_that_is_not_a_server_s_address_says_how_to_write_it(
        tmp_path: Path, host: str, said: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        remote_from(host, None, {"DATABRICKS_TOKEN": "dapi-x"}, tmp_path)
    assert str(raised.value).startswith(said)
    assert remote_from("http://127.0.0.1:8080/", None, {"DATABRICKS_TOKEN": "dapi-x"},
                       tmp_path) == Remote("http://127.0.0.1:8080", "dapi-x")
