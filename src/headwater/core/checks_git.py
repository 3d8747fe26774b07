"""The rules of a job's `git_source` that its field types cannot express.

The source names exactly one of `git_branch`, `git_tag` and `git_commit`, as the Jobs API
requires; a task may say `source: GIT` only in a job that has a `git_source`; a sparse
checkout's patterns are folders of the repository.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from headwater.core.git_source import reference_of, task_sources
from headwater.core.spec import JobSettings, Task

Finding = tuple[str, str]  # (path, message)

__all__ = ["check_git"]


def check_git(settings: JobSettings, tasks: Iterable[tuple[str, Task]]) -> Iterator[Finding]:
    """The problems of the job's `git_source` and of its tasks' `source: GIT`."""
    source = settings.git_source
    if source is None:
        for path, task in tasks:
            for field, value in task_sources(task):
                if value == "GIT":
                    yield f"{path}.{field}", (
                        "this task reads its code from Git (source: GIT), but the job has no "
                        "git_source: add git_source (git_url, git_provider and a git_branch, "
                        "git_tag or git_commit), or set source: WORKSPACE")
        return
    if not source.git_url.strip() or source.git_url.startswith("-"):
        yield "git_source.git_url", "give the repository's URL, e.g. https://github.com/org/repo"
    if reference_of(source) is None:
        named = [f for f in ("git_branch", "git_tag", "git_commit") if getattr(source, f)]
        got = f" (got {', '.join(named)})" if named else ""
        yield "git_source", (
            f"name exactly one of git_branch, git_tag and git_commit{got}: it is the version "
            "of the code every task of a run uses")
    patterns = source.sparse_checkout.patterns if source.sparse_checkout else []
    for index, pattern in enumerate(patterns):
        parts = pattern.strip("/").split("/")
        if pattern.startswith("/") or ".." in parts or not pattern.strip("/"):
            yield f"git_source.sparse_checkout.patterns[{index}]", (
                f"{pattern!r} is not a folder of the repository: write a folder's path from "
                "the repository's root, e.g. src/etl")
