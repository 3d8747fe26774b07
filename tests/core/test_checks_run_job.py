"""A Run Job task's `job_parameters` against the child job of the same bundle: a name the child
does not declare would be dropped when the task starts, so loading warns where it is written."""

from __future__ import annotations

from pathlib import Path

from headwater.core.checks_run_job import undeclared_child_parameters
from headwater.core.load import load_bundle
from headwater.core.spec import JobSettings

from .test_bundle_cli import write

BUNDLE = """
    bundle: {name: shop}
    resources:
      jobs:
        parent:
          name: parent
          tasks:
            - task_key: call
              run_job_task:
                job_id: ${resources.jobs.child.id}
                job_parameters: {day: "1", dya: "2"}
            - task_key: loop
              for_each_task:
                inputs: "[1]"
                task:
                  task_key: each
                  run_job_task: {job_name: child, job_parameters: {nope: "3"}}
        child:
          name: child
          parameters: [{name: day, default: "0"}]
          tasks:
            - task_key: t
              shell_command_task: {command: "true"}
    """


def test_a_parameter_the_child_does_not_declare_is_a_warning_at_its_name(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", BUNDLE)

    loaded = load_bundle([root])

    # The file loads (the Databricks CLI deploys it), with a warning at each name
    assert [job.resource_name for job in loaded.jobs] == ["parent", "child"]
    assert [str(warning) for warning in loaded.warnings] == [
        f"{root}:10:40: tasks[0].run_job_task.job_parameters.dya: job 'child' declares no "
        "parameter 'dya' (did you mean 'day'?): the Run Job task would drop this value when it "
        "starts; declare the parameter in that job, or correct the name (it declares 'day')",
        f"{root}:16:64: tasks[1].for_each_task.task.run_job_task.job_parameters.nope: job "
        "'child' declares no parameter 'nope': the Run Job task would drop this value when it "
        "starts; declare the parameter in that job, or correct the name (it declares 'day')"]


def test_a_child_that_is_not_loaded_here_or_is_ambiguous_is_not_checked() -> None:
    def job(name: str, task: dict[str, object] | None = None) -> JobSettings:
        tasks = [task or {"task_key": "t", "shell_command_task": {"command": "true"}}]
        return JobSettings.model_validate({"name": name, "tasks": tasks})

    calls = {"task_key": "c", "run_job_task": {"job_name": "twin", "job_parameters": {"x": "1"}}}
    by_id = {"task_key": "c", "run_job_task": {"job_id": 7, "job_parameters": {"x": "1"}}}

    assert list(undeclared_child_parameters({
        "a": job("parent", calls), "b": job("twin"), "c": job("twin")})) == []
    assert list(undeclared_child_parameters({"a": job("parent", by_id), "b": job("b")})) == []
    assert [path for _, path, _ in undeclared_child_parameters({
        "a": job("parent", calls), "b": job("twin")})] == ["tasks[0].run_job_task.job_parameters.x"]
