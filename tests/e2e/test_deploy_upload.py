"""`headwater deploy --host` copies the bundle's files to the server, as `databricks bundle
deploy` syncs them to the workspace: the jobs run the copies, so the checkout may change or go.
A real server process, the real CLI, real tasks."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from headwater.cli.bundle_files import pack
from headwater.cli.bundle_upload import _send_changed
from headwater.client.config import Remote
from headwater.client.http import Api
from headwater.client.remote import RemoteService
from headwater.core.bundle_sync import content_digest
from tests.servers import Server

from .conftest import Cli
from .test_client import client_env

BUNDLE = """\
bundle:
  name: shop
sync:
  exclude: [notes/]
resources:
  jobs:
    load:
      name: load
      tasks:
        - task_key: load
          spark_python_task:
            python_file: src/load.py
            parameters: ["${workspace.file_path}/data/input.txt"]
        - task_key: count
          depends_on: [{task_key: load}]
          shell_command_task: {command: "cat data/input.txt | wc -l > counted.txt"}
targets:
  dev: {default: true}
"""
LOAD = """\
import pathlib, sys
print("load v1 read", pathlib.Path(sys.argv[1]).read_text().strip())
"""


def _project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "data").mkdir()
    (folder / "notes").mkdir()
    (folder / "databricks.yml").write_text(BUNDLE)
    (folder / "src" / "load.py").write_text(LOAD)
    (folder / "data" / "input.txt").write_text("apples\npears\n")
    (folder / "notes" / "todo.md").write_text("excluded by sync.exclude\n")
    (folder / ".gitignore").write_text("local.env\n__pycache__/\n")
    (folder / "local.env").write_text("TOKEN=ignored by git\n")
    return folder


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_bundle_deployed_to_a_server_runs_the_copy_of_its_files_there(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project, elsewhere = _project(tmp_path / "project"), tmp_path / "elsewhere"
    elsewhere.mkdir()

    deployed = hw("deploy", check=True, extra_env=env, cwd=project)
    copy = server.workdir / ".headwater" / "workspace" / "Users" / "alice" / ".bundle" / "shop" \
        / "dev" / "files"
    copied = _files(copy)
    # The checkout goes: the job runs from the server's copy alone.
    shutil.rmtree(project)
    ran = hw("jobs", "run-now", "load", "--wait", extra_env=env, cwd=elsewhere)
    listed = hw("runs", "list", check=True, extra_env=env, cwd=elsewhere).stdout
    run_id = listed.splitlines()[1].split()[0]
    logs = hw("runs", "logs", run_id, "load", check=True, extra_env=env, cwd=elsewhere)
    job = json.loads(hw("jobs", "get", "load", check=True, extra_env=env, cwd=elsewhere).stdout)

    assert "Synced 4 files to /Workspace/Users/alice/.bundle/shop/dev/files (4 sent, " \
           "4 changed, 0 deleted)" in deployed.stderr
    # What Git ignores and what sync.exclude names stay behind.
    assert copied == [".gitignore", "data/input.txt", "databricks.yml", "src/load.py"]
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert logs.stdout == "load v1 read apples\npears\n"
    assert (copy / "counted.txt").read_text().strip() == "2"  # the shell task ran in the copy
    task = job["settings"]["tasks"][0]["spark_python_task"]
    assert task == {"python_file": str(copy / "src" / "load.py"),
                    "parameters": [str(copy / "data" / "input.txt")]}


def test_a_redeploy_changes_what_changed_deletes_what_went_and_keeps_what_tasks_wrote(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")
    hw("deploy", check=True, extra_env=env, cwd=project)
    hw("jobs", "run-now", "load", "--wait", check=True, extra_env=env, cwd=project)
    copy = server.workdir / ".headwater" / "workspace" / "Users" / "alice" / ".bundle" / "shop" \
        / "dev" / "files"
    kept = (copy / "src" / "load.py").stat().st_ino

    (project / "data" / "input.txt").write_text("plums\n")
    (project / "src" / "old.py").write_text("")
    changed = hw("deploy", check=True, extra_env=env, cwd=project)
    (project / "src" / "old.py").unlink()
    again = hw("deploy", check=True, extra_env=env, cwd=project)

    # Only what the server's copy lacks travels: the changed file and the new one.
    assert "Synced 5 files to /Workspace/Users/alice/.bundle/shop/dev/files (2 sent, " \
           "2 changed, 0 deleted)" in changed.stderr
    assert "Synced 4 files to /Workspace/Users/alice/.bundle/shop/dev/files (0 sent, " \
           "0 changed, 1 deleted)" in again.stderr
    assert (copy / "data" / "input.txt").read_text() == "plums\n"
    assert not (copy / "src" / "old.py").exists()
    assert (copy / "src" / "load.py").stat().st_ino == kept  # unchanged: not rewritten
    # A task's output beside the files is not the bundle's: a deploy leaves it.
    assert (copy / "counted.txt").read_text().strip() == "2"


def test_a_user_deploys_to_their_own_folder_or_shared_and_a_bad_root_path_is_located(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")
    bundle = BUNDLE.replace("targets:\n  dev: {default: true}\n", """\
targets:
  dev: {default: true}
  bobs:
    workspace:
      root_path: /Workspace/Users/bob/.bundle/${bundle.name}
  shared:
    workspace:
      root_path: /Shared/.bundle/${bundle.name}/${bundle.target}
  odd:
    workspace:
      root_path: /tmp/shop
""")
    (project / "databricks.yml").write_text(bundle)

    into_bobs = hw("deploy", "--target", "bobs", extra_env=env, cwd=project)
    jobs_after = hw("jobs", "list", check=True, extra_env=env, cwd=project)
    shared = hw("deploy", "--target", "shared", check=True, extra_env=env, cwd=project)
    odd = hw("deploy", "--target", "odd", extra_env=env, cwd=project)

    assert into_bobs.returncode == 1
    assert "alice may not write /Workspace/Users/bob/.bundle/shop/files: only under " \
           "/Workspace/Users/alice/ or /Workspace/Shared/" in into_bobs.stderr
    assert jobs_after.stdout.strip().splitlines()[1:] == []  # nothing deployed
    assert "Synced 4 files to /Workspace/Shared/.bundle/shop/shared/files" in shared.stderr
    assert (server.workdir / ".headwater" / "workspace" / "Shared" / ".bundle" / "shop"
            / "shared" / "files" / "src" / "load.py").exists()
    assert odd.returncode == 1
    assert "databricks.yml:" in odd.stderr
    assert "targets.odd.workspace.root_path: '/tmp/shop' is not a folder of the workspace" \
        in odd.stderr


def test_the_files_copied_are_those_git_would_keep_with_sync_include_exclude_and_named_ones(
        tmp_path: Path) -> None:
    from headwater.cli.bundle_files import synced_files
    from headwater.core.bundle_sync import BundleSync

    top = tmp_path / "repo"
    (top / ".git" / "info").mkdir(parents=True)
    (top / ".git" / "info" / "exclude").write_text("*.swp\n")
    (top / ".gitignore").write_text("*.log\nbuild/\n")
    root = top / "bundle"
    for name in ("a.py", "a.py.swp", "run.log", "keep.log", "build/x.py", "dist/app-1.whl",
                 "sub/.gitignore", "sub/b.py", "sub/c.tmp", "gen/out.csv", "docs/x.md",
                 ".databricks/state.json", ".headwater/headwater.db"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    (root / "sub" / ".gitignore").write_text("*.tmp\n!keep.log\n")
    (root / ".gitignore").write_text("dist/\ngen/\n!keep.log\n")
    sync = BundleSync(str(root), (str(root),), include=("gen/",), exclude=("docs/",),
                      referenced=(f"{root}/dist/*.whl", f"{root}/a.py"))

    chosen = synced_files(sync)

    assert sorted(chosen) == [".gitignore", "a.py", "dist/app-1.whl", "gen/out.csv",
                              "keep.log", "sub/.gitignore", "sub/b.py"]


def test_destroy_through_a_server_deletes_the_bundle_s_folder_with_its_jobs(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")
    hw("deploy", check=True, extra_env=env, cwd=project)
    root = server.workdir / ".headwater" / "workspace" / "Users" / "alice" / ".bundle" / "shop" \
        / "dev"

    destroyed = hw("bundle", "destroy", "--auto-approve", check=True, extra_env=env,
                   cwd=project)
    again = hw("deploy", check=True, extra_env=env, cwd=project)

    assert destroyed.stdout.splitlines() == [
        "The following jobs of bundle shop (target dev) will be deleted:",
        "  load: 1  (job 'load')",
        "The folder /Workspace/Users/alice/.bundle/shop/dev and all in it will be deleted.",
        "load: 1  (deleted)",
        "/Workspace/Users/alice/.bundle/shop/dev  (deleted)"]
    # The next deploy starts afresh: every file is copied again.
    assert "(4 sent, 4 changed, 0 deleted)" in again.stderr
    assert (root / "files" / "src" / "load.py").exists()


def test_destroy_keeps_the_folder_while_a_run_of_its_jobs_goes_on(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")
    started, go = tmp_path / "started", tmp_path / "go"
    (project / "src" / "load.py").write_text(
        f"import pathlib, sys, time\npathlib.Path({str(started)!r}).touch()\n"
        f"while not pathlib.Path({str(go)!r}).exists():\n    time.sleep(0.1)\n" + LOAD)
    hw("deploy", check=True, extra_env=env, cwd=project)
    run_id = hw("jobs", "run-now", "1", check=True, extra_env=env).stdout.strip()
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "the run's task did not start"
        time.sleep(0.1)

    # When the bundle is destroyed while its job's run reads the folder's files
    destroyed = hw("bundle", "destroy", "--auto-approve", check=True, extra_env=env,
                   cwd=project)
    go.touch()
    ended = hw("runs", "get", run_id, "--json", extra_env=env)
    while '"result_state"' not in ended.stdout or "TERMINATING" in ended.stdout:
        assert time.monotonic() < deadline + 60, ended.stdout
        time.sleep(0.2)
        ended = hw("runs", "get", run_id, "--json", extra_env=env)

    # Then the job is gone, but the folder stays until the run ended, which succeeds
    assert destroyed.stdout.splitlines()[2:] == [
        "The folder /Workspace/Users/alice/.bundle/shop/dev is kept: runs of these jobs "
        f"still going on read their files from it (run ids: {run_id}); destroy again once "
        "they ended to delete it.",
        "load: 1  (deleted)"]
    assert json.loads(ended.stdout)["state"]["result_state"] == "SUCCESS", ended.stdout
    # and a second destroy, the run ended, deletes it
    again = hw("bundle", "destroy", "--auto-approve", check=True, extra_env=env, cwd=project)
    assert again.stdout.splitlines()[-1] == "/Workspace/Users/alice/.bundle/shop/dev  (deleted)"


def test_headwater_run_of_a_bundle_through_a_server_copies_its_files_first(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")

    ran = hw("run", "databricks.yml", extra_env=env, cwd=project)

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Synced 4 files to /Workspace/Users/alice/.bundle/shop/dev/files" in ran.stderr
    assert "ended SUCCESS" in ran.stdout
    copy = server.workdir / ".headwater" / "workspace" / "Users" / "alice" / ".bundle" / "shop" \
        / "dev" / "files"
    assert (copy / "counted.txt").read_text().strip() == "2"


def test_jobs_create_and_reset_of_a_bundle_through_a_server_copy_its_files_too(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    env = client_env(server, server.token("alice"))
    project = _project(tmp_path / "project")

    created = hw("jobs", "create", "databricks.yml", check=True, extra_env=env, cwd=project)
    (project / "src" / "load.py").write_text(LOAD.replace("v1", "v2"))
    reset = hw("jobs", "reset", "databricks.yml", check=True, extra_env=env, cwd=project)
    shutil.rmtree(project)
    ran = hw("jobs", "run-now", "load", "--wait", extra_env=env, cwd=tmp_path)
    run_id = hw("runs", "list", check=True, extra_env=env, cwd=tmp_path).stdout.splitlines()[1] \
        .split()[0]
    logs = hw("runs", "logs", run_id, "load", check=True, extra_env=env, cwd=tmp_path)

    assert "Synced 4 files to /Workspace/Users/alice/.bundle/shop/dev/files (4 sent, 4 changed" \
        in created.stderr
    assert "(1 sent, 1 changed, 0 deleted)" in reset.stderr
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert logs.stdout == "load v2 read apples\npears\n"


SHARED = "/Workspace/Shared/race"


def _remote(server: Server, user: str) -> RemoteService:
    return RemoteService(Api(Remote(server.url, server.token(user))))


def test_a_file_changed_between_the_comparison_and_the_copy_is_refused_409_then_sent(
        tmp_path: Path, server: Server) -> None:
    names = {"a.py": tmp_path / "a.py", "b.py": tmp_path / "b.py"}
    names["a.py"].write_text("a1")
    names["b.py"].write_text("b1")
    service = _remote(server, "alice")
    service.sync_workspace_files(SHARED, pack(names))
    folder = server.workdir / ".headwater" / "workspace" / "Shared" / "race"
    compared = service.changed_workspace_files(SHARED, {"a.py": content_digest(b"a1")})

    (folder / "a.py").write_text("another deploy")  # between the comparison and the copy
    request = urllib.request.Request(
        f"{server.url}/api/2.2/headwater/deploy/files?path={SHARED}", method="POST",
        data=pack(names, {"a.py": content_digest(b"a1"), "b.py": content_digest(b"b1")}),
        headers={"Authorization": f"Bearer {server.token('alice')}",
                 "Content-Type": "application/gzip"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    answer = json.loads(refused.value.read())

    assert compared == []
    assert refused.value.code == 409
    assert answer["error_code"] == "RESOURCE_CONFLICT"
    assert "(a.py): deploy again" in answer["message"]
    assert (folder / "a.py").read_text() == "another deploy"  # the refusal wrote nothing


def test_a_deploy_racing_another_compares_again_and_sends_what_changed_meanwhile(
        tmp_path: Path, server: Server) -> None:
    names = {"a.py": tmp_path / "a.py", "b.py": tmp_path / "b.py"}
    names["a.py"].write_text("a1")
    names["b.py"].write_text("b1")
    folder = server.workdir / ".headwater" / "workspace" / "Shared" / "race"
    comparisons: list[list[str]] = []

    class Racing(RemoteService):
        """A server where another deploy rewrites a.py right after the first comparison."""

        def changed_workspace_files(self, path: str, digests: Any) -> list[str]:
            changed = super().changed_workspace_files(path, digests)
            if not comparisons:
                (folder / "a.py").write_text("another deploy")
            comparisons.append(sorted(changed))
            return changed

    service = Racing(Api(Remote(server.url, server.token("alice"))))
    service.sync_workspace_files(SHARED, pack(names))
    names["b.py"].write_text("b2")

    synced, sent = _send_changed(SimpleNamespace(service=service), SHARED,  # type: ignore[arg-type]
                                 names)

    assert comparisons == [["b.py"], ["a.py", "b.py"]]
    assert sent == 2
    assert (synced.written, synced.deleted) == (2, 0)
    assert (folder / "a.py").read_text() == "a1"
    assert (folder / "b.py").read_text() == "b2"


def test_two_users_deploying_one_bundle_each_get_their_own_jobs_and_destroy_only_theirs(
        hw: Cli, tmp_path: Path, server: Server) -> None:
    alice, bob = client_env(server, server.token("alice")), client_env(server, server.token("bob"))
    project = _project(tmp_path / "project")

    alices = hw("deploy", check=True, extra_env=alice, cwd=project)
    bobs = hw("deploy", check=True, extra_env=bob, cwd=project)
    bob_runs = hw("bundle", "run", "load", extra_env=bob, cwd=project)
    bob_destroys = hw("bundle", "destroy", "--auto-approve", check=True, extra_env=bob,
                      cwd=project)
    alice_runs = hw("bundle", "run", "load", extra_env=alice, cwd=project)

    # Each default root path (the user's own folder) is a deployment of its own, as on Databricks.
    assert "load: 1  (created" in alices.stdout
    assert "load: 2  (created" in bobs.stdout
    assert bob_runs.returncode == 0, bob_runs.stdout + bob_runs.stderr
    assert "(job 2) started" in bob_runs.stdout
    assert "load: 2  (deleted)" in bob_destroys.stdout
    assert "load: 1" not in bob_destroys.stdout
    assert alice_runs.returncode == 0, alice_runs.stdout + alice_runs.stderr
    assert "(job 1) started" in alice_runs.stdout
