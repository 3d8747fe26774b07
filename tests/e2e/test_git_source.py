"""Jobs whose code comes from Git (`git_source`; docs/semantics.md, "Code from Git"), run for
real: `headwater run` and `runs repair` in a child process, and the databricks-sdk against
`headwater server`, on repositories made with `git` (file URLs: no network)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from databricks.sdk.errors import InvalidParameterValue, NotFound, OperationFailed
from databricks.sdk.service import jobs

from headwater.bootstrap import application
from tests.child_env import child_env
from tests.git_http import git_http_server
from tests.gitrepo import commit
from tests.servers import Server

from .conftest import Cli
from .conftest import sdk_client as client
from .test_run import run_document, run_id_of
from .test_sdk import server  # noqa: F401 - the fixture

# The first task moves the branch on (a push while the run goes on): the next task still
# reads the code of the commit the run's snapshot took.
FIRST = """\
import subprocess, sys
repo, out = sys.argv[1], sys.argv[2]
with open(out, "a") as written:
    written.write("first v1\\n")
with open(f"{repo}/etl/second.py", "w") as changed:
    changed.write("# Databricks notebook source\\nprint('second v2')\\n"
                  "with open(dbutils.widgets.get('out'), 'a') as w: w.write('second v2\\\\n')\\n")
subprocess.run(["git", "-c", "user.name=Ann", "-c", "user.email=ann@example.com", "-C", repo,
                "commit", "--quiet", "--allow-empty", "-am", "v2"], check=True)
"""
SECOND = """\
# Databricks notebook source
with open(dbutils.widgets.get("out"), "a") as written:
    written.write("second v1\\n")
"""
JOB = """\
resources:
  jobs:
    etl:
      git_source: {{git_url: "file://{repo}", git_provider: gitHub, git_branch: main}}
      tasks:
        - task_key: first
          spark_python_task: {{python_file: etl/first.py, parameters: ["{repo}", "{out}"]}}
        - task_key: second
          depends_on: [{{task_key: first}}]
          notebook_task: {{notebook_path: etl/second, base_parameters: {{out: "{out}"}}}}
        - task_key: local
          depends_on: [{{task_key: second}}]
          spark_python_task: {{python_file: local.py, parameters: ["{out}"], source: WORKSPACE}}
"""


def test_every_task_of_a_run_reads_the_commit_its_run_began_with(
        hw: Cli, tmp_path: Path) -> None:
    # Given a repository whose first task pushes a new commit while the run goes on
    repo, out = tmp_path / "repo", tmp_path / "out.txt"
    used = commit(repo, {"etl/first.py": FIRST, "etl/second.py": SECOND})
    (tmp_path / "local.py").write_text(
        "import sys\nopen(sys.argv[1], 'a').write('local\\n')\n")
    (tmp_path / "job.yml").write_text(JOB.format(repo=repo, out=out))

    # When the job runs
    result = hw("run", "job.yml")

    # Then the second task ran the code of the run's snapshot, not of the moved branch, and
    # the WORKSPACE task its local file
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text().splitlines() == ["first v1", "second v1", "local"]
    document = run_document(hw, run_id_of(result.stdout))
    assert document["git_source"]["git_snapshot"] == {"used_commit": used}
    assert document["git_source"]["git_branch"] == "main"
    by_key = {t["task_key"]: t for t in document["tasks"]}
    assert by_key["second"]["git_source"]["git_snapshot"] == {"used_commit": used}
    assert "git_source" not in by_key["local"]
    shown = hw("runs", "get", str(document["run_id"]), check=True).stdout
    assert f"Code from Git: branch main of file://{repo} at {used[:12]}\n" in shown

    # And the next run takes the branch as it is now
    out.write_text("")
    assert hw("run", "job.yml").returncode == 0
    assert out.read_text().splitlines() == ["first v1", "second v2", "local"]


WAITER = """\
import pathlib, sys, time
here = pathlib.Path(sys.argv[1])
(here / "started").touch()
while not (here / "go").exists():
    time.sleep(0.05)
"""


def test_an_engine_killed_mid_run_gives_the_rest_of_the_run_the_same_commit(
        hw: Cli, tmp_path: Path) -> None:
    # Given a run killed with SIGKILL while its first task (from Git) runs
    repo = tmp_path / "repo"
    used = commit(repo, {"wait.py": WAITER, "say.py": "import sys\n"
                         "open(sys.argv[1] + '/out.txt', 'a').write('v1\\n')\n"})
    (tmp_path / "job.yml").write_text(textwrap.dedent(f"""\
        resources:
          jobs:
            slow:
              git_source: {{git_url: "file://{repo}", git_provider: gitHub, git_branch: main}}
              tasks:
                - task_key: wait
                  spark_python_task: {{python_file: wait.py, parameters: ["{tmp_path}"]}}
                - task_key: say
                  depends_on: [{{task_key: wait}}]
                  spark_python_task: {{python_file: say.py, parameters: ["{tmp_path}"]}}
        """))
    engine = subprocess.Popen([sys.executable, "-m", "headwater", "run", "job.yml"],
                              cwd=tmp_path, env=child_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(engine.pid, signal.SIGKILL)
    engine.wait()
    # And the branch moves on before the run is resumed
    commit(repo, {"say.py": "import sys\nopen(sys.argv[1] + '/out.txt', 'a').write('v2\\n')\n"})
    (tmp_path / "go").touch()

    # When a new engine resumes the run
    resumed = hw("runs", "resume", "1")

    # Then the task it starts reads the commit the run's snapshot took before the kill
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (tmp_path / "out.txt").read_text() == "v1\n"
    tasks = {t["task_key"]: t for t in run_document(hw, 1)["tasks"]}
    assert tasks["say"]["git_source"]["git_snapshot"]["used_commit"] == used


def test_a_repair_takes_the_fix_pushed_to_the_branch(hw: Cli, tmp_path: Path) -> None:
    # Given a run whose script from Git fails
    repo = tmp_path / "repo"
    broken = commit(repo, {"jobs/load.py": "raise SystemExit('bad load')\n",
                           "jobs/report.py": "print('reported')\n"})
    (tmp_path / "job.yml").write_text(textwrap.dedent(f"""\
        resources:
          jobs:
            daily:
              git_source: {{git_url: "{repo}", git_provider: gitLab, git_branch: main}}
              tasks:
                - task_key: load
                  spark_python_task: {{python_file: jobs/load.py}}
                - task_key: report
                  depends_on: [{{task_key: load}}]
                  spark_python_task: {{python_file: jobs/report.py}}
        """))
    failed = hw("run", "job.yml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    run = run_id_of(failed.stdout)

    # When the fix is pushed and the run repaired
    fixed = commit(repo, {"jobs/load.py": "print('loaded')\n"}, "fix the load")
    repaired = hw("runs", "repair", str(run), "--all-failed")

    # Then the repair ran the fixed code, and says which commit each attempt used
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    document = run_document(hw, run)
    assert document["state"]["result_state"] == "SUCCESS"
    commits = [(t["task_key"], t.get("repair_number", 0),
                t["git_source"]["git_snapshot"]["used_commit"]) for t in document["tasks"]
               if "git_source" in t]  # the report skipped before the repair read no code
    assert sorted(commits) == [("load", 0, broken), ("load", 1, fixed), ("report", 1, fixed)]
    assert document["git_source"]["git_snapshot"]["used_commit"] == fixed


def test_a_branch_that_does_not_exist_fails_the_task_saying_so(
        hw: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"a.py": "print('a')\n"})
    (tmp_path / "job.json").write_text(json.dumps({
        "name": "typo", "git_source": {"git_url": f"file://{repo}", "git_provider": "gitHub",
                                       "git_branch": "mian"},
        "tasks": [{"task_key": "a", "spark_python_task": {"python_file": "a.py"}}]}))

    result = hw("run", "job.json")

    assert result.returncode == 1
    task = run_document(hw, run_id_of(result.stdout))["tasks"][0]
    assert task["state"]["state_message"].startswith(
        f"The task could not start: could not check out branch 'mian' of file://{repo}: ")
    assert "mian" in task["state"]["state_message"].split(": ", 2)[2]  # git's own words


def test_a_file_missing_from_the_commit_is_named_with_the_checkout_it_was_looked_for_in(
        hw: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit(repo, {"a.py": "print('a')\n"})
    (tmp_path / "b.py").write_text("print('a local b, not the repository's')\n")
    (tmp_path / "job.json").write_text(json.dumps({
        "name": "missing", "git_source": {"git_url": str(repo), "git_provider": "gitHub",
                                          "git_branch": "main"},
        "tasks": [{"task_key": "b", "spark_python_task": {"python_file": "b.py"}}]}))

    result = hw("run", "job.json")

    assert result.returncode == 1
    message = run_document(hw, run_id_of(result.stdout))["tasks"][0]["state"]["state_message"]
    assert "python_file 'b.py' not found" in message
    assert "/.code/0/b.py" in message


def test_the_sdk_creates_a_git_job_and_reads_the_commit_each_task_used(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    repo = tmp_path / "repo"
    used = commit(repo, {"nb/greet.py": "# Databricks notebook source\n"
                                        "dbutils.notebook.exit('hello from git')\n",
                         "sql/count.sql": "SELECT 42 AS answer\n"})
    w = client(server, server.token("ann"), monkeypatch)
    job = w.jobs.create(
        name="from git",
        git_source=jobs.GitSource(git_url=f"file://{repo}", git_provider=jobs.GitProvider.GIT_HUB,
                                  git_tag=None, git_branch="main"),
        tasks=[jobs.Task(task_key="greet", notebook_task=jobs.NotebookTask(
            notebook_path="nb/greet", source=jobs.Source.GIT))])

    run = w.jobs.run_now_and_wait(job.job_id)

    assert run.state.result_state == jobs.RunResultState.SUCCESS
    assert run.git_source.git_snapshot.used_commit == used
    assert run.tasks[0].git_source.git_snapshot.used_commit == used
    assert w.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "hello from git"

    # A one-time run (runs/submit) reads from its own git_source the same way
    once = w.jobs.submit_and_wait(
        run_name="once",
        git_source=jobs.GitSource(git_url=str(repo), git_provider=jobs.GitProvider.GIT_LAB,
                                  git_commit=used),
        tasks=[jobs.SubmitTask(task_key="count", sql_task=jobs.SqlTask(
            file=jobs.SqlTaskFile(path="sql/count.sql"), warehouse_id="local"))])
    assert once.state.result_state == jobs.RunResultState.SUCCESS
    assert once.tasks[0].git_source.git_snapshot.used_commit == used

    # A job with a tag that does not exist fails its run, with git's reason
    bad = w.jobs.create(
        name="bad tag",
        git_source=jobs.GitSource(git_url=f"file://{repo}", git_provider=jobs.GitProvider.GIT_HUB,
                                  git_tag="v404"),
        tasks=[jobs.Task(task_key="greet", notebook_task=jobs.NotebookTask(
            notebook_path="nb/greet"))])
    with pytest.raises(OperationFailed, match="could not check out tag 'v404'"):
        w.jobs.run_now_and_wait(bad.job_id)


def test_the_sdk_s_git_credentials_let_a_user_s_runs_read_a_private_repository(
        server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # Given a repository served over HTTP only to ann's token, and a job of ann's reading it
    used = commit(tmp_path / "served" / "etl",
                  {"nb/greet.py": "# Databricks notebook source\n"
                                  "dbutils.notebook.exit('hello from a private repo')\n"})
    ann = client(server, server.token("ann"), monkeypatch)
    bob = client(server, server.token("bob"), monkeypatch)
    with git_http_server(tmp_path / "served", "ann-gh", "s3cret") as url:
        job = ann.jobs.create(
            name="private", git_source=jobs.GitSource(
                git_url=f"{url}/etl", git_provider=jobs.GitProvider.GIT_HUB, git_branch="main"),
            tasks=[jobs.Task(task_key="greet", notebook_task=jobs.NotebookTask(
                notebook_path="nb/greet", source=jobs.Source.GIT))])
        # When she has no Git credential, her run fails saying what to add
        with pytest.raises(OperationFailed, match="no Git credential for gitHub"):
            ann.jobs.run_now_and_wait(job.job_id)

        # When she adds one (wrong, then corrected), as the databricks-sdk does
        made = ann.git_credentials.create("GitHub", git_username="ann-gh",
                                          personal_access_token="wrong", name="work")
        assert made.git_provider == "gitHub" and made.credential_id is not None
        ann.git_credentials.update(made.credential_id, "gitHub", personal_access_token="s3cret")
        run = ann.jobs.run_now_and_wait(job.job_id)

        # Then her run reads the repository with it
        assert run.state is not None and run.state.result_state == jobs.RunResultState.SUCCESS
        assert run.git_source is not None and run.git_source.git_snapshot is not None
        assert run.git_source.git_snapshot.used_commit == used

    # And she sees her credential (never its token); bob sees none of hers, and may not read it
    [listed] = list(ann.git_credentials.list())
    assert (listed.credential_id, listed.git_username, listed.name) == (
        made.credential_id, "ann-gh", "work")
    assert "s3cret" not in json.dumps(ann.api_client.do("GET", "/api/2.0/git-credentials"))
    assert list(bob.git_credentials.list()) == []
    with pytest.raises(NotFound):
        bob.git_credentials.get(made.credential_id)
    with pytest.raises(InvalidParameterValue, match="principal_id: headwater has no service"):
        ann.git_credentials.create("gitHub", principal_id=4)
    with pytest.raises(InvalidParameterValue, match="git_provider: 'svn' is not a Git provider"):
        ann.git_credentials.create("svn")
    ann.git_credentials.delete(made.credential_id)
    assert list(ann.git_credentials.list()) == []
    with application(server.settings()) as app:  # each change audited, never the token
        entries = [e.entry for e in app.store.audit_entries()
                   if e.entry.action.startswith("git_credential.")]
    assert [(e.actor, e.action) for e in entries] == [
        ("ann", "git_credential.created"), ("ann", "git_credential.updated"),
        ("ann", "git_credential.deleted")]
    assert "s3cret" not in json.dumps([e.details for e in entries])
