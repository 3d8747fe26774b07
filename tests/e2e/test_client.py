"""The `headwater` CLI as a client of `headwater server`: deploy a bundle from one directory,
look at its runs from another, run jobs live, with the token from the environment or a
profile in ~/.databrickscfg. A real server process, real tasks."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from headwater.client.config import Remote
from headwater.client.http import Api
from headwater.errors import HeadwaterError
from tests.servers import Server

from .conftest import Cli
from .test_deploy_cli import BUNDLE, FIRST_DEPLOY, SECOND_DEPLOY

PERMISSIONS = """\
      permissions:
        - {level: CAN_VIEW, user_name: bob}
        - {level: CAN_MANAGE_RUN, service_principal_name: 6f0e5c1a-robot}
        - {level: CAN_MANAGE, group_name: admins}
"""
PRINCIPAL_KEYS = ("user_name", "service_principal_name", "group_name")


def client_env(server: Server, token: str) -> dict[str, str]:
    return {"DATABRICKS_HOST": server.url, "DATABRICKS_TOKEN": token}


def test_deploy_then_runs_list_from_a_second_directory(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "databricks.yml").write_text(BUNDLE)

    first = hw("deploy", check=True, extra_env=env, cwd=project)
    (project / "databricks.yml").write_text(BUNDLE.replace("echo report", "echo report v2"))
    second = hw("deploy", check=True, extra_env=env, cwd=project)
    ran = hw("bundle", "run", "load_orders", "--param", "day=friday", extra_env=env,
             cwd=project)
    listed = hw("runs", "list", check=True, extra_env=env, cwd=elsewhere)
    jobs = hw("jobs", "list", check=True, extra_env=env, cwd=elsewhere)
    logs = hw("runs", "logs", ran.stdout.split()[1], "load", check=True, extra_env=env,
              cwd=elsewhere)

    assert first.stdout.splitlines() == FIRST_DEPLOY
    assert second.stdout.splitlines() == SECOND_DEPLOY
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "of job 'load_orders' (job 1) started" in ran.stdout
    assert "ended SUCCESS" in ran.stdout
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:2] == ["RUN", "ID"]
    assert row.split()[:4] == ["1", "load_orders", "TERMINATED", "SUCCESS"]
    assert [line.split()[:2] for line in jobs.stdout.splitlines()] == [
        ["1", "load_orders"], ["2", "report"]]
    assert "version 2" in jobs.stdout.splitlines()[1]
    assert logs.stdout == "loading friday\n"
    # Nothing was written to a local state store: the client only spoke HTTP.
    assert not (project / ".headwater").exists()
    assert not (elsewhere / ".headwater").exists()


def test_a_profile_names_the_server_and_a_failed_run_is_repaired_through_it(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".databrickscfg").write_text(
        f"[local]\nhost = {server.url}\ntoken = {server.token('alice')}\n")
    env = {"HOME": str(home)}
    gate = tmp_path / "gate"
    (tmp_path / "flaky.yml").write_text(f"""\
resources:
  jobs:
    flaky:
      name: flaky
      tasks:
        - task_key: extract
          shell_command_task: {{command: "echo extracted"}}
        - task_key: load
          depends_on: [{{task_key: extract}}]
          shell_command_task: {{command: "test -e {gate} || (echo not yet; exit 3)"}}
""")

    failed = hw("run", "flaky.yml", "--profile", "local", extra_env=env)
    gate.touch()
    repaired = hw("runs", "repair", "1", "--all-failed", "--profile", "local", extra_env=env)
    got = hw("runs", "get", "1", "-p", "local", check=True, extra_env=env)  # as `databricks`

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "ended FAILED" in failed.stdout
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "ended SUCCESS" in repaired.stdout
    lines = got.stdout.splitlines()
    assert any(line.split()[:5] == ["load", "attempt", "0", "TERMINATED", "FAILED"]
               for line in lines), got.stdout
    assert any(line.split()[:7] == ["load", "repair", "1", "attempt", "0", "TERMINATED",
                                    "SUCCESS"] for line in lines), got.stdout


def test_bundle_permissions_are_deployed_and_the_server_enforces_them(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    (tmp_path / "databricks.yml").write_text(
        BUNDLE.replace("      name: report\n", "      name: report\n" + PERMISSIONS))
    alice, bob = server.token("alice"), server.token("bob")

    hw("deploy", check=True, extra_env=client_env(server, alice))
    bob_sees = hw("jobs", "list", check=True, extra_env=client_env(server, bob))
    bob_runs = hw("jobs", "run-now", "2", extra_env=client_env(server, bob))
    # bob's `bundle run` is of his own deployment (his root path), which he never made.
    bob_bundle_runs = hw("bundle", "run", "report", extra_env=client_env(server, bob))
    acl = server.call("GET", "/api/2.0/permissions/jobs/2", token=alice).body

    assert [line.split()[:2] for line in bob_sees.stdout.splitlines()] == [["2", "report"]]
    assert bob_runs.returncode == 1
    assert "User bob does not have permission to run job 2" in bob_runs.stderr
    assert bob_bundle_runs.returncode == 1
    assert "job 'report' of bundle shop (target dev) is not deployed at " \
           "/Workspace/Users/bob/.bundle/shop/dev: run `headwater deploy` first" \
        in bob_bundle_runs.stderr
    entries = {(*next((key, entry[key]) for key in PRINCIPAL_KEYS if key in entry),
                entry["all_permissions"][0]["permission_level"])
               for entry in acl["access_control_list"]}
    assert entries == {("user_name", "alice", "IS_OWNER"), ("user_name", "bob", "CAN_VIEW"),
                       ("service_principal_name", "6f0e5c1a-robot", "CAN_MANAGE_RUN"),
                       ("group_name", "admins", "CAN_MANAGE")}  # no inherited one: granted


def test_a_bad_token_or_no_token_is_a_clear_error(hw: Cli, server: Server) -> None:
    bad = hw("runs", "list", extra_env=client_env(server, "dapi-not-a-token"))
    no_token = hw("runs", "list", "--host", server.url)

    assert bad.returncode == 1
    assert "The token is unknown, revoked or expired" in bad.stderr
    assert no_token.returncode != 0
    assert "DATABRICKS_TOKEN" in no_token.stderr


def test_pausing_a_job_without_a_schedule_is_refused_as_it_is_locally(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    env = client_env(server, server.token("alice"))
    hw("deploy", check=True, extra_env=env)

    paused = hw("jobs", "pause", "1", extra_env=env)

    assert paused.returncode == 1
    assert "Job 1 has no schedule, trigger or continuous run" in paused.stderr


SCOPED = """\
bundle: {name: scoped}
resources:
  secret_scopes:
    creds: {name: team-creds}
  jobs:
    report:
      name: report
      tasks:
        - task_key: t
          shell_command_task: {command: "true"}
"""


def test_a_bundle_s_secret_scopes_are_made_on_the_server_by_its_deployer_who_manages_them(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    (tmp_path / "databricks.yml").write_text(SCOPED)
    admin, bob = server.token("root", admin=True), server.token("bob")

    # Any user may make a scope, as on Databricks: the deployer's makes it, once, and
    # gives the deployer MANAGE on it; the jobs deploy with it
    by_bob = hw("deploy", check=True, extra_env=client_env(server, bob))
    again = hw("deploy", check=True, extra_env=client_env(server, admin))

    assert by_bob.stdout.startswith("report: 1  (created")
    assert "secret scope 'team-creds' created" in by_bob.stderr
    assert "created" not in again.stderr.replace("secret_scopes", "")
    scopes = server.call("GET", "/api/2.0/secrets/scopes/list", token=admin).body
    assert [scope["name"] for scope in scopes["scopes"]] == ["team-creds"]
    acls = server.call("GET", "/api/2.0/secrets/acls/list?scope=team-creds", token=admin).body
    assert acls["items"] == [{"principal": "bob", "permission": "MANAGE"}]


def test_a_bundle_s_secret_scope_permissions_become_its_acl_on_the_server(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    (tmp_path / "databricks.yml").write_text(SCOPED.replace(
        "creds: {name: team-creds}", """creds:
      name: team-creds
      permissions:
        - {level: READ, group_name: users}
        - {level: WRITE, user_name: carol}"""))
    admin, bob, carol = (server.token("root", admin=True), server.token("bob"),
                         server.token("carol"))

    hw("deploy", check=True, extra_env=client_env(server, bob))
    put = server.call("POST", "/api/2.0/secrets/put", {
        "scope": "team-creds", "key": "k", "string_value": "v"}, token=carol)

    acls = server.call("GET", "/api/2.0/secrets/acls/list?scope=team-creds", token=admin).body
    assert sorted((a["principal"], a["permission"]) for a in acls["items"]) == [
        ("bob", "MANAGE"), ("carol", "WRITE"), ("users", "READ")]
    assert put.status == 200, put.body  # carol may write, as the bundle says


# The commands that read this machine's state store only, each as a user would type it.
STORE_COMMANDS = [
    ("metrics", "1"), ("audit", "list"), ("audit", "verify"), ("sql", "SELECT 1"),
    ("notifications", "list"), ("notifications", "deliver"), ("tokens", "list"),
    ("tokens", "create", "--user", "ann"), ("tokens", "revoke", "1"), ("engine",),
    ("engines", "list"), ("db", "status"), ("db", "upgrade"),
    ("secrets", "list-scopes"), ("secrets", "put-secret", "s", "k", "--string-value", "v"),
    ("runs", "prune", "--older-than-days", "1"),
]


def test_commands_of_the_server_s_machine_refuse_when_the_environment_names_a_server(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    # Given a job deployed to a server, and the environment pointing at that server
    (tmp_path / "databricks.yml").write_text(BUNDLE)
    env = client_env(server, server.token("alice"))
    hw("deploy", check=True, extra_env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    # When the commands that read the local state store run there
    refused = {command: hw(*command, extra_env=env, cwd=elsewhere) for command in STORE_COMMANDS}
    # and when the server's store is named, as on the server's machine
    named = hw("metrics", "1", "--db", server.db_url, extra_env=env, cwd=elsewhere)

    # Then each refuses, naming itself, the server and the way out, and makes no store
    for command, result in refused.items():
        name = " ".join(command[:1] if command[0] in ("metrics", "sql", "engine")
                        else command[:2])
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert result.stderr.startswith(
            f"error: `headwater {name}` reads the state store on this machine, but "
            f"DATABRICKS_HOST points at a server ({server.url}): run it on the server's "
            "machine (with "), (command, result.stderr)
        assert "or unset DATABRICKS_HOST" in result.stderr
    assert "(with HEADWATER_DB there)" in refused["secrets", "list-scopes"].stderr
    assert "`databricks secrets ...`" in refused["secrets", "list-scopes"].stderr
    assert "(with --db there)" in refused["metrics", "1"].stderr
    assert not (elsewhere / ".headwater").exists()
    # and a store named explicitly is read, whatever the environment says
    assert named.returncode == 0, named.stderr
    assert "(job 1): 0 runs" in named.stdout


def test_a_profile_named_in_the_environment_refuses_them_too(hw: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".databrickscfg").write_text("[local]\nhost = http://127.0.0.1:9/\ntoken = t\n")
    env = {"HOME": str(home), "DATABRICKS_CONFIG_PROFILE": "local"}

    refused = hw("audit", "list", extra_env=env)
    named = hw("audit", "list", extra_env={**env, "HEADWATER_DB": str(tmp_path / "here.db")})

    assert refused.returncode == 1
    assert "but DATABRICKS_CONFIG_PROFILE points at a server (http://127.0.0.1:9)" in \
        refused.stderr
    assert "or unset DATABRICKS_CONFIG_PROFILE" in refused.stderr
    assert named.returncode == 0, named.stderr
    assert (tmp_path / "here.db").exists()


def test_an_endpoint_the_server_lacks_says_the_server_may_be_older(server: Server) -> None:
    api = Api(Remote(server.url, server.token("alice")))

    with pytest.raises(HeadwaterError) as refused:
        api.post("/api/2.2/headwater/deploy/a-later-endpoint", {})

    assert "No API found for 'POST /api/2.2/headwater/deploy/a-later-endpoint'" \
        in str(refused.value)
    assert f"this headwater ({version('headwater')}) asks for: it may run an older " \
           "headwater, so upgrade it to this version" in str(refused.value)


def test_runs_list_gives_as_many_runs_as_asked_over_the_api_s_pages(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("ann"))
    job = tmp_path / "job.json"
    job.write_text('{"name": "many", "tasks": [{"task_key": "t", '
                   '"shell_command_task": {"command": "sleep 60"}}]}')
    job_id = hw("jobs", "create", str(job), check=True, extra_env=env).stdout.strip()
    # 30 runs, at once: one runs, the others wait in the job's queue
    hw("jobs", "backfill", job_id, "--from", "2026-11-01T00:00Z", "--to", "2026-11-02T05:00Z",
       "--every", "1h", check=True, extra_env=env)

    listed = hw("runs", "list", "--job-id", job_id, "--limit", "27", check=True, extra_env=env)
    everything = hw("runs", "list", "--job-id", job_id, "--limit", "100", check=True,
                    extra_env=env)

    ids = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert len(ids) == 27 and len(set(ids)) == 27  # more than one page of 24, none twice
    assert len(everything.stdout.splitlines()[1:]) == 30
    hw("runs", "cancel-all", "--job-id", job_id, check=True, extra_env=env)
