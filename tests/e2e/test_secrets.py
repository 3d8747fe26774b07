"""Secret scopes through the CLI and `dbutils.secrets` in real task processes: a script that
imports `dbutils` as on Databricks and a notebook that finds it in its globals read what
`headwater secrets put-secret` stored; a missing secret fails the task saying how to add it;
the CLI sets scope ACLs, and its own runs (as the machine's admin) read every scope."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

from .conftest import Cli, write_job
from .engines import Cluster, clean_env
from .test_run import run_document, run_id_of

SCRIPT = """\
import sys
from databricks.sdk.runtime import dbutils
token = dbutils.secrets.get(scope="warehouse", key=sys.argv[1])
print(f"token of {len(token)} characters, starting {token[:3]}")
"""
NOTEBOOK = """\
# Databricks notebook source
scopes = [s.name for s in dbutils.secrets.listScopes()]
keys = [s.key for s in dbutils.secrets.list("warehouse")]
print(f"scopes {scopes}, keys {keys}, {len(dbutils.secrets.getBytes('warehouse', 'token'))} bytes")
"""


def test_tasks_read_the_secrets_the_cli_stored(hw: Cli, tmp_path: Path) -> None:
    # Given a secret stored with the CLI, as `databricks secrets put-secret` would
    hw("secrets", "put-secret", "warehouse", "token", "--string-value", "s3cr3t-value",
       check=True)
    hw("secrets", "create-scope", "empty", check=True)
    (tmp_path / "read.py").write_text(SCRIPT)
    (tmp_path / "list_secrets.py").write_text(NOTEBOOK)
    job = write_job(tmp_path / "job.json", [
        {"task_key": "read", "spark_python_task": {"python_file": "read.py",
                                                   "parameters": ["token"]}},
        {"task_key": "listing", "notebook_task": {"notebook_path": "list_secrets.py"}},
        {"task_key": "missing", "spark_python_task": {"python_file": "read.py",
                                                      "parameters": ["password"]}},
    ])

    # When the job runs
    result = hw("run", str(job))
    run = run_id_of(result.stdout)

    # Then the script and the notebook read it, and the missing one failed saying so
    def log(key: str) -> str:
        return hw("runs", "logs", str(run), key, check=True).stdout

    assert "token of 12 characters, starting s3c" in log("read")
    assert "scopes ['empty', 'warehouse'], keys ['token'], 12 bytes" in log("listing")
    tasks = {t["task_key"]: t for t in run_document(hw, run)["tasks"]}
    assert tasks["read"]["state"]["result_state"] == "SUCCESS"
    assert tasks["missing"]["state"]["result_state"] == "FAILED"
    assert ("no secret 'password' in scope 'warehouse'; add it with `headwater secrets "
            "put-secret warehouse password`") in log("missing")
    # And the value is readable by its owner only, and listed by key, never by value
    stored = tmp_path / ".headwater" / "secrets" / "warehouse" / "token"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    listed = hw("secrets", "list-secrets", "warehouse", check=True).stdout
    assert listed.splitlines() == ["token"]
    # And the audit log says who made the scopes and put the secret, never its value
    entries = [json.loads(line) for line in
               hw("audit", "list", "--json", check=True).stdout.splitlines()]
    secrets = [(e["action"], e["details"]) for e in entries if e["action"].startswith("secret.")]
    assert secrets == [
        ("secret.scope_created", {"scope": "warehouse", "initial_manage_principal": "admins"}),
        ("secret.put", {"scope": "warehouse", "key": "token"}),
        ("secret.scope_created", {"scope": "empty", "initial_manage_principal": "admins"})]
    assert "s3cr3t" not in json.dumps(entries)


def test_the_secrets_cli_refuses_what_cannot_be_a_scope_and_deletes(hw: Cli) -> None:
    refused = hw("secrets", "put-secret", "../etc", "key", "--string-value", "x")
    assert refused.returncode == 1
    assert "scope name '../etc' is not valid" in refused.stderr
    hw("secrets", "put-secret", "s", "k", input="from stdin", check=True)
    hw("secrets", "delete-secret", "s", "k", check=True)
    assert hw("secrets", "list-secrets", "s", check=True).stdout == ""
    hw("secrets", "delete-scope", "s", check=True)
    assert "no secret scope 's'" in hw("secrets", "list-secrets", "s").stderr


def test_the_cli_sets_scope_acls_and_its_own_runs_read_every_scope(
        hw: Cli, tmp_path: Path) -> None:
    # Given a scope made here: the admins manage it, no other user may read it
    hw("secrets", "put-secret", "warehouse", "token", "--string-value", "s3cr3t-value",
       check=True)
    assert hw("secrets", "list-acls", "warehouse", check=True).stdout == "admins\tMANAGE\n"
    hw("secrets", "create-scope", "shared", "--initial-manage-principal", "users", check=True)
    assert hw("secrets", "list-acls", "shared", check=True).stdout == "users\tMANAGE\n"

    # When the machine's admin grants it to others, this machine's user not among them
    hw("secrets", "put-acl", "warehouse", "bob", "MANAGE", check=True)
    hw("secrets", "put-acl", "warehouse", "users", "READ", check=True)
    hw("secrets", "put-acl", "warehouse", "users", "WRITE", check=True)  # replaces READ

    # Then the ACL lists them, one entry each; the last one cannot be deleted
    assert hw("secrets", "list-acls", "warehouse", check=True).stdout.splitlines() == [
        "admins\tMANAGE", "bob\tMANAGE", "users\tWRITE"]
    assert hw("secrets", "get-acl", "warehouse", "users", check=True).stdout == "WRITE\n"
    hw("secrets", "delete-acl", "warehouse", "users", check=True)
    hw("secrets", "delete-acl", "warehouse", "admins", check=True)
    refused = hw("secrets", "delete-acl", "warehouse", "bob")
    assert refused.returncode == 1 and "the last ACL of secret scope 'warehouse'" in \
        refused.stderr
    # And a job that `headwater run` drives (as this machine's admin) still reads it
    (tmp_path / "read.py").write_text(SCRIPT)
    job = write_job(tmp_path / "job.json", [
        {"task_key": "read", "spark_python_task": {"python_file": "read.py",
                                                   "parameters": ["token"]}}])
    result = hw("run", str(job), check=True)
    assert "token of 12 characters" in hw("runs", "logs", str(run_id_of(result.stdout)), "read",
                                          check=True).stdout


def test_run_and_deploy_make_a_bundle_s_secret_scopes_here(hw: Cli, tmp_path: Path) -> None:
    # Given a bundle whose target names its scope, as Databricks' job_read_secret example does
    (tmp_path / "read.py").write_text(
        "import sys\nprint(len(dbutils.secrets.get(scope=sys.argv[1], key='token')))\n")
    (tmp_path / "databricks.yml").write_text("""\
bundle: {name: scoped}
resources:
  secret_scopes:
    creds: {name: "${bundle.target}-creds"}
  jobs:
    read:
      name: read
      tasks:
        - task_key: read
          spark_python_task:
            python_file: read.py
            parameters: ["${resources.secret_scopes.creds.name}"]
targets:
  dev: {default: true}
  prod: {}
""")

    # When it runs, its scope is made (empty), and the task says which secret to put there
    first = hw("run", "databricks.yml")
    assert "secret scope 'dev-creds' created" in first.stderr
    assert first.returncode == 1
    log = hw("runs", "logs", str(run_id_of(first.stdout)), "read", check=True).stdout
    assert ("no secret 'token' in scope 'dev-creds'; add it with `headwater secrets put-secret "
            "dev-creds token`") in log
    # Then with the secret put there, the same run succeeds; deploying prod makes its scope
    hw("secrets", "put-secret", "dev-creds", "token", "--string-value", "abc", check=True)
    assert hw("run", "databricks.yml").returncode == 0
    hw("deploy", "-t", "prod", check=True)
    assert hw("secrets", "list-scopes", check=True).stdout.split() == ["dev-creds",
                                                                       "prod-creds"]


def test_a_secret_put_beside_the_home_of_the_store_s_engines_is_warned_of(
        tmp_path: Path) -> None:
    # Given an engine of a store, keeping its secrets under its own home
    server_dir, elsewhere = tmp_path / "server", tmp_path / "elsewhere"
    server_dir.mkdir()
    elsewhere.mkdir()
    db = server_dir / ".headwater" / "headwater.db"
    cluster = Cluster(server_dir, f"sqlite:///{db}")
    cluster.start_engine()
    try:
        deadline = time.monotonic() + 60
        while "alive" not in cluster.cli("engines", "list").stdout:
            assert time.monotonic() < deadline, "the engine did not beat"
            time.sleep(0.2)

        def put(cwd: Path) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "headwater", "secrets", "put-secret", "prod", "token",
                 "--string-value", "v"], cwd=cwd, env=clean_env(HEADWATER_DB=str(db)),
                capture_output=True, text=True, check=True)

        # When a secret is put from another folder with the store named (HEADWATER_DB)
        away, beside = put(elsewhere), put(server_dir)
    finally:
        cluster.stop_all()

    # Then it is said where the engines look, and how to put it there; not beside them
    home = server_dir / ".headwater"
    assert (f"Warning: the engines of this state store keep their secrets under "
            f"{home}/secrets, not {elsewhere / '.headwater'}/secrets") in away.stderr
    assert f"set HEADWATER_HOME to {home}" in away.stderr
    assert "Warning" not in beside.stderr
