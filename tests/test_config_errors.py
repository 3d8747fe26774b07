"""`headwater.yml` problems are located like a job file's (issue 16): file:line:col, the field,
what is wrong; every problem, one per line."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.config import ConfigError, load_config


def test_each_problem_of_the_config_file_names_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("smtp:\n  host: mail.example.com\n  port: many\n  hots: x\ndelivery: {}\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path}: invalid configuration:"
    assert f"{path}:3:9: smtp.port: Input should be a valid integer, unable to parse string as " \
        "an integer" in lines
    assert f"{path}:4:3: smtp.hots: unknown field 'hots'" in lines


@pytest.mark.parametrize("days", ["0", "-5"])
def test_a_retention_below_one_day_says_how_to_keep_everything(tmp_path: Path,
                                                               days: str) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text(f"retention:\n  runs_days: {days}\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert f"{path}:2:14: retention.runs_days: Value error, {days} days would prune runs as " \
        "soon as they end: give a number of days of at least 1, or null to keep every run" \
        in str(raised.value)


def test_retention_is_60_days_by_default_and_null_keeps_every_run(tmp_path: Path) -> None:
    policy = load_config({}, tmp_path).retention.policy()
    assert (policy.runs_days, policy.caches_days) == (60, 30)
    (tmp_path / "headwater.yml").write_text("retention: {runs_days: null, caches_days: null}\n")
    policy = load_config({}, tmp_path).retention.policy()
    assert (policy.runs_days, policy.caches_days) == (None, None)


def test_caches_kept_under_a_day_are_refused_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("retention:\n  runs_days: 0\n  caches_days: 0\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert f"{path}:2:14: retention.runs_days: " in str(raised.value)  # both, in one report
    assert f"{path}:3:16: retention.caches_days: Value error, 0 days would remove task " \
        "environments as soon as their tasks end: give a number of days of at least 1, or " \
        "null to keep them all" in str(raised.value)


def test_a_warehouse_s_duckdb_path_starts_at_the_file_s_folder_and_its_password_variable_is_secret(
        tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(
        "warehouses:\n"
        "  reporting: {url: 'duckdb:///data/r.duckdb'}\n"
        "  absolute: {url: 'duckdb:////srv/a.duckdb'}\n"
        "  pg: {url: 'postgresql+psycopg://etl@db/analytics', password_env: PG_PASSWORD}\n")

    config = load_config({}, tmp_path)

    assert config.warehouses["reporting"].url == f"duckdb:///{tmp_path / 'data' / 'r.duckdb'}"
    assert config.warehouses["absolute"].url == "duckdb:////srv/a.duckdb"
    assert config.warehouses["pg"].url == "postgresql+psycopg://etl@db/analytics"
    assert "PG_PASSWORD" in config.secret_variables()  # no task inherits it by name


def test_a_warehouse_id_that_cannot_name_a_file_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("warehouses:\n  ../up: {url: 'duckdb:///x.duckdb'}\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert f"{path}:2:3: warehouses: Value error, warehouse id '../up': use letters, digits, " \
        "'_', '-' and '.'" in str(raised.value)


def test_a_password_secret_is_named_as_the_secret_store_names_scopes_and_keys(
        tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("warehouses:\n  pg: {url: 'postgresql://etl@db/a', password_secret: 'vault/..'}\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert "warehouses.pg.password_secret: Value error, 'vault/..': secret key name '..' is " \
        "not valid: use letters, digits, '-', '_' and '.'" in str(raised.value)


def test_duration_warnings_from_history_are_off_unless_asked_and_checked_at_their_line(
        tmp_path: Path) -> None:
    assert load_config({}, tmp_path).duration_warnings.policy() is None
    path = tmp_path / "headwater.yml"
    path.write_text("duration_warnings:\n  times_usual: 3\n  at_least_runs: 2\n")
    usual = load_config({}, tmp_path).duration_warnings.policy()
    assert usual is not None
    assert (usual.times_usual, usual.of_last_runs, usual.at_least_runs,
            usual.at_least_seconds) == (3, 20, 2, 60)
    path.write_text("duration_warnings:\n  times_usual: 0.5\n  usual_of_last_runs: 0\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    assert f"{path}:2:16: duration_warnings.times_usual: Input should be greater than 1" \
        in str(raised.value)
    assert f"{path}:3:23: duration_warnings.usual_of_last_runs: Input should be greater than " \
        "or equal to 1" in str(raised.value)


def test_teams_and_pagerduty_destinations_are_checked_at_the_line_of_each_bad_field(
        tmp_path: Path) -> None:
    path = tmp_path / "headwater.yml"
    path.write_text("destinations:\n"
                    "  team: {type: teams, webhook_url: 'https://example.com/x'}\n"
                    "  pager:\n"
                    "    type: pagerduty\n"
                    "    routing_key: abc\n"
                    "    url: events.pagerduty.com/v2/enqueue\n")

    with pytest.raises(ConfigError) as raised:
        load_config({}, tmp_path)

    lines = str(raised.value).splitlines()
    assert f"{path}:2:23: destinations.team.webhook_url: unknown field 'webhook_url'" in lines
    assert f"{path}:5:5: destinations.pager.routing_key: unknown field 'routing_key'" in lines
    assert f"{path}:6:10: destinations.pager.url: Value error, 'events.pagerduty.com/v2/enqueue' " \
        "is not an http:// or https:// URL" in lines


def test_pagerduty_goes_to_the_events_api_and_the_variables_of_both_are_kept_from_tasks(
        tmp_path: Path) -> None:
    (tmp_path / "headwater.yml").write_text(
        "destinations:\n"
        "  team: {type: teams, url_env: TEAMS_URL}\n"
        "  pager: {type: pagerduty, integration_key_env: PD_KEY}\n")

    config = load_config({}, tmp_path)

    assert config.destinations["pager"].model_dump()["url"] == \
        "https://events.pagerduty.com/v2/enqueue"
    assert {"TEAMS_URL", "PD_KEY"} <= config.secret_variables()
