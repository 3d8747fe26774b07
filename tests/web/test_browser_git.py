"""A run of a job whose code comes from Git, in the browser: its head says which branch of
which repository, at which commit, and each attempt in the task panel the commit it ran."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.gitrepo import commit
from tests.servers import Server
from tests.web.browsing import Visitor, create_job, run_now, wait_for_state


def test_the_run_page_says_which_commit_the_code_came_from(
        ada: Visitor, server: Server, admin: str, tmp_path: Path) -> None:
    # Given a run of a job that reads its script from a Git branch
    repo = tmp_path / "repo"
    used = commit(repo, {"etl/load.py": "print('loaded from git')\n"})
    job_id = create_job(server, admin, {
        "name": "from git",
        "git_source": {"git_url": f"file://{repo}", "git_provider": "gitHub",
                       "git_branch": "main"},
        "tasks": [{"task_key": "load", "spark_python_task": {"python_file": "etl/load.py"}}]})
    run_id = run_now(server, admin, job_id)
    wait_for_state(server, admin, run_id, "SUCCESS")

    # When its page is opened at the task
    page = ada.goto(f"/runs/{run_id}?task=load")

    # Then the head names the branch, the repository and the commit, and the attempt its commit
    expect(page.locator("#run-head .code-source")).to_have_text(
        f"Code from Git: branch main of file://{repo} at {used[:12]}")
    expect(page.locator("#task-panel tr.attempt .commit")).to_have_text(f"commit {used[:12]}")
