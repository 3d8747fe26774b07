"""Which tasks read their code from the job's Git repository (`git_source`), and at what.

As on Databricks, a notebook, Python script, SQL file or dbt task reads from the job's
`git_source` when it says `source: GIT`, or says nothing and the job has a `git_source`;
`source: WORKSPACE` keeps it on the local files. Its paths are then paths in the
repository, from its root.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI's `runs get` shows a run's source without the job models
    from headwater.core.spec import GitSource, JobSettings, Task

__all__ = ["GitReference", "reads_git", "reference_of", "source_words", "task_sources",
           "used_commit"]


@dataclass(frozen=True, slots=True)
class GitReference:
    """The branch, tag or commit a job's code is taken at."""

    kind: str  # "branch", "tag" or "commit"
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name!r}"


def task_sources(task: Task) -> Iterator[tuple[str, str | None]]:
    """The field and value of each `source` of the task's parts that read code (None where
    it is not set)."""
    for name in ("notebook_task", "spark_python_task", "dbt_task"):
        part = getattr(task, name)
        if part is not None:
            yield f"{name}.source", None if part.source is None else str(part.source)
    if task.sql_task is not None and task.sql_task.file is not None:
        source = task.sql_task.file.source
        yield "sql_task.file.source", None if source is None else str(source)


def reads_git(task: Task, settings: JobSettings) -> bool:
    """Whether the task's code paths are paths in the job's Git repository."""
    sources = [source for _, source in task_sources(task)]
    if "GIT" in sources:
        return True
    return settings.git_source is not None and bool(sources) and "WORKSPACE" not in sources


def reference_of(source: GitSource) -> GitReference | None:
    """The one reference the source names (None: none, or more than one)."""
    named = [GitReference(kind, value) for kind, value in
             (("branch", source.git_branch), ("tag", source.git_tag),
              ("commit", source.git_commit)) if value]
    return named[0] if len(named) == 1 else None


def used_commit(source: Any) -> str:
    """The commit a run's or attempt's `git_source` (as `runs/get` shows it) says was used,
    shortened as Git shows it; "" when it names none."""
    snapshot = source.get("git_snapshot") if isinstance(source, Mapping) else None
    used = snapshot.get("used_commit") if isinstance(snapshot, Mapping) else None
    return str(used)[:12] if used else ""


def source_words(source: Any) -> str:
    """A run's `git_source` in words: "branch main of <url> at <commit>" ("" for none)."""
    if not isinstance(source, Mapping):
        return ""
    named = next((f"{word} {source[key]}" for key, word in (
        ("git_branch", "branch"), ("git_tag", "tag"), ("git_commit", "commit"))
        if source.get(key)), "")
    words = f"{named} of {source.get('git_url', '')}".strip()
    commit = used_commit(source)
    return f"{words} at {commit}" if commit else words
