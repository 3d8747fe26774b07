"""The notebook context (`headwater.runtime.notebook_context`): Scala's shapes, filled from the
attempt's context.json and the notebook's path, and empty where headwater knows nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from headwater.engine.attempts import write_context
from headwater.runtime import channel, dbutils
from headwater.runtime.notebook_context import (
    NOTEBOOK_PATH_VARIABLE,
    CommandContext,
    NoSuchElementException,
    Option,
    RunId,
    ScalaMap,
)

ATTEMPT = channel.Context(job_id=7, job_name="lakeflow", user="ana@example.com", run_id=41,
                          task_run_id=4102, task_key="silver", attempt_number=1)
TAGS = {"jobId": "7", "jobName": "lakeflow", "multitaskParentRunId": "41", "idInJob": "4102",
        "taskKey": "silver", "user": "ana@example.com"}


def test_an_option_is_scala_s() -> None:
    some = Option("x")
    none: Option[str] = Option(None, "nobody said")
    assert (some.get(), some.isDefined(), some.isEmpty(), some.getOrElse("y")) == (
        "x", True, False, "x")
    assert (none.isDefined(), none.isEmpty(), none.getOrElse("y")) == (False, True, "y")
    assert (str(some), none.toString()) == ("Some(x)", "None")
    with pytest.raises(NoSuchElementException, match=r"^None\.get: nobody said$"):
        none.get()


def test_a_run_id_is_its_number_and_prints_as_databricks_prints_it() -> None:
    assert RunId(4102).id() == 4102
    assert str(RunId(4102)) == RunId(4102).toString() == "RunId(4102)"
    assert str(Option(RunId(4102))) == "Some(RunId(4102))"


def test_a_map_gives_options_and_apply_names_the_keys_it_has() -> None:
    tags = ScalaMap({"jobId": "7", "taskKey": "silver"}, "the tags")
    assert tags.get("jobId").get() == "7"
    assert tags.get("user").isEmpty()
    assert tags.apply("taskKey") == "silver"
    assert (tags.contains("jobId"), tags.contains("user")) == (True, False)
    assert tags.getOrElse("user", "nobody") == "nobody"
    assert str(tags) == "Map(jobId -> 7, taskKey -> silver)"
    with pytest.raises(NoSuchElementException,
                       match=r"^key not found: user \(the tags has: jobId, taskKey\)$"):
        tags.apply("user")


def test_in_a_run_the_context_holds_the_job_the_run_and_the_task_run() -> None:
    context = CommandContext(ATTEMPT, "/jobs/etl/ingest.py")

    assert context.currentRunId().get().id() == 4102  # the task's own run, as on Databricks
    assert context.rootRunId().get().id() == 4102
    assert (context.jobId().get(), context.idInJob().get()) == ("7", "4102")
    assert context.tags().apply("multitaskParentRunId") == "41"  # the job run
    assert context.userName().get() == "ana@example.com"  # whom the run runs as
    assert context.notebookPath().get() == "/jobs/etl/ingest"  # no suffix, as in a workspace
    assert context.extraContext().apply("notebook_path") == "/jobs/etl/ingest"
    assert json.loads(context.toJson()) == {
        "rootRunId": {"id": 4102}, "currentRunId": {"id": 4102}, "tags": TAGS,
        "extraContext": {"notebook_path": "/jobs/etl/ingest"}}
    assert json.loads(context.safeToJson()) == {"attributes": {
        **TAGS, "notebook_path": "/jobs/etl/ingest", "currentRunId": "4102",
        "rootRunId": "4102"}}


def test_what_headwater_does_not_know_is_empty_and_get_says_why() -> None:
    # Given a Python file's process outside a run: no ids, no notebook
    context = CommandContext(channel.Context(), None)

    assert context.currentRunId().isEmpty()
    assert context.tags().get("jobId").isEmpty()
    assert json.loads(context.toJson()) == {
        "rootRunId": None, "currentRunId": None, "tags": {}, "extraContext": {}}
    with pytest.raises(NoSuchElementException, match="outside a headwater run"):
        context.currentRunId().get()
    with pytest.raises(NoSuchElementException, match="not a notebook"):
        context.notebookPath().get()
    # And no run, no run's user
    with pytest.raises(NoSuchElementException, match="has no 'user'"):
        context.userName().get()


def test_what_databricks_has_and_headwater_does_not_is_an_attribute_error_saying_so() -> None:
    with pytest.raises(AttributeError, match=r"getContext\(\)\.apiToken\(\): .* tags, "):
        CommandContext(ATTEMPT, None).apiToken()  # type: ignore[operator]
    with pytest.raises(AttributeError, match=r"entry_point\.getJobGroupId: headwater has no "):
        dbutils.notebook.entry_point.getJobGroupId()  # type: ignore[operator]


def test_dbutils_reads_the_attempt_s_context_and_the_notebook_s_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_context(tmp_path, {"job_id": 7, "job_name": "lakeflow", "user": "ana@example.com",
                             "run_id": 41, "task_run_id": 4102, "task_key": "silver"})
    monkeypatch.setenv("HEADWATER_ATTEMPT_DIR", str(tmp_path))
    monkeypatch.setenv(NOTEBOOK_PATH_VARIABLE, "/jobs/etl/report.ipynb")

    context = dbutils.notebook.entry_point.getDbutils().notebook().getContext()

    assert json.loads(context.toJson())["tags"] == TAGS
    assert context.notebookPath().get() == "/jobs/etl/report"
    assert dbutils.notebook.getContext().currentRunId().get().id() == 4102
