"""Loading a bundle warns, at `file:line:col`, of what `core/checks_warnings.py` finds, and the
job still loads: a `run_if` with no dependency to look at, a `sql_task` without
`warehouse_id`, an enum value written in another case than the Jobs API's."""

from __future__ import annotations

from pathlib import Path

from headwater.core.load import load_bundle
from headwater.core.spec import RunIf

from .test_bundle_cli import write

BUNDLE = """
    resources:
      jobs:
        j:
          tasks:
            - task_key: cleanup
              run_if: AT_LEAST_ONE_FAILED
              shell_command_task: {command: "true"}
            - task_key: gate
              condition_task: {op: equal_to, left: "1", right: "1"}
            - task_key: report
              depends_on: [{task_key: gate, outcome: "true"}]
              run_if: all_done
              sql_task:
                query: {query_text: SELECT 1}
    """


def test_each_warning_is_at_the_value_it_is_about(tmp_path: Path) -> None:
    root = write(tmp_path, "databricks.yml", BUNDLE)

    loaded = load_bundle([root])

    # The job loads, its enums read as the Jobs API spells them
    (job,) = loaded.jobs
    assert job.settings.tasks[2].run_if is RunIf.ALL_DONE
    # And each finding is a warning at its value, in the file's order
    assert [(w.where, w.path, w.message.split(":")[0]) for w in loaded.warnings] == [
        (f"{root}:6:19", "tasks[0].run_if", "run_if AT_LEAST_ONE_FAILED on a task without "
                                            "depends_on"),
        (f"{root}:9:32", "tasks[1].condition_task.op", "'equal_to' is read as EQUAL_TO, the Jobs "
                                                       "API's spelling; Databricks may refuse "
                                                       "another case (`databricks bundle "
                                                       "validate` warns of it too)"),
        (f"{root}:12:19", "tasks[2].run_if", "'all_done' is read as ALL_DONE, the Jobs API's "
                                             "spelling; Databricks may refuse another case "
                                             "(`databricks bundle validate` warns of it too)"),
        (f"{root}:14:13", "tasks[2].sql_task", "no warehouse_id"),
    ]
