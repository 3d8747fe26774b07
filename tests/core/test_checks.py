"""Semantic checks of validated settings: each rule, its path and its message."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.core.checks import check_job, find_cycle, format_path, parse_path, suggest
from headwater.core.load import settings_from_body
from headwater.core.spec import JobSettings
from headwater.errors import SpecError

SHELL = {"shell_command_task": {"command": "true"}}
CONDITION = {"condition_task": {"op": "EQUAL_TO", "left": "a", "right": "a"}}


def task(key: str, *upstream: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"task_key": key, **fields}
    if upstream:
        body["depends_on"] = [{"task_key": name} for name in upstream]
    if not any(name.endswith("_task") for name in fields):
        body.update(SHELL)
    return body


def findings(*tasks: dict[str, Any], **job: Any) -> list[tuple[str, str]]:
    return check_job(JobSettings.model_validate({"tasks": list(tasks), **job}))


def test_a_valid_job_has_no_findings() -> None:
    cond = task("check", "extract", **CONDITION)
    load = task("load", depends_on=[{"task_key": "check", "outcome": "true"}])
    assert (
        findings(task("extract"), cond, load, parameters=[{"name": "run.date-1", "default": "x"}])
        == []
    )


def test_duplicate_task_keys_name_both_positions() -> None:
    assert findings(task("a"), task("b"), task("a")) == [
        (
            "tasks[2].task_key",
            "duplicate task_key 'a': tasks[0] and tasks[2] both use it; task keys must be "
            "unique within a job",
        )
    ]


def test_unknown_dependency_suggests_a_close_key() -> None:
    assert findings(task("load"), task("report", "lod")) == [
        (
            "tasks[1].depends_on[0].task_key",
            "unknown task 'lod' (did you mean 'load'?); depends_on names the task_key of "
            "another task of this job",
        )
    ]


def test_a_cycle_names_the_tasks_on_it() -> None:
    (finding,) = findings(task("a", "c"), task("b", "a"), task("c", "b"), task("d", "c"))

    assert finding == (
        "tasks[1].depends_on[0]",
        "the tasks form a cycle: a -> b -> c -> a; remove one of these dependencies",
    )


def test_two_separate_cycles_are_both_reported() -> None:
    result = findings(task("a", "b"), task("b", "a"), task("c", "d"), task("d", "c"))

    assert [message.split(";")[0] for _, message in result] == [
        "the tasks form a cycle: a -> b -> a",
        "the tasks form a cycle: c -> d -> c",
    ]


def test_a_task_depending_on_itself() -> None:
    assert findings(task("a", "a")) == [
        ("tasks[0].depends_on[0].task_key", "task 'a' depends on itself; remove it")
    ]


def test_duplicate_dependencies() -> None:
    assert findings(task("a"), task("b", "a", "a")) == [
        (
            "tasks[1].depends_on[1]",
            "duplicate dependency on 'a' (also depends_on[0]); remove one of them",
        )
    ]


def test_outcome_needs_a_condition_upstream_and_true_or_false() -> None:
    result = findings(
        task("a"),
        task("cond", **CONDITION),
        task("b", depends_on=[{"task_key": "a", "outcome": "true"}]),
        task("c", depends_on=[{"task_key": "cond", "outcome": "yes"}]),
    )

    assert result == [
        (
            "tasks[2].depends_on[0].outcome",
            "outcome is allowed only on a condition_task upstream, and 'a' is not one; "
            "remove outcome",
        ),
        ("tasks[3].depends_on[0].outcome", 'outcome must be "true" or "false" (got \'yes\')'),
    ]


def test_a_task_needs_exactly_one_task_type() -> None:
    none = {"task_key": "none"}
    several = task("several", **SHELL, spark_python_task={"python_file": "x.py"})

    result = findings(none, several)

    assert result[0][0] == "tasks[0]"
    assert result[0][1].startswith("task 'none' has no task type: set exactly one of notebook_task")
    assert result[1] == (
        "tasks[1].shell_command_task",
        "task 'several' sets several task types (spark_python_task, shell_command_task); keep "
        "exactly one, or split it into several tasks",
    )


def test_more_than_1000_tasks() -> None:
    result = findings(*[task(f"t{i}") for i in range(1001)])

    assert result == [
        (
            "tasks",
            "a job has at most 1000 tasks (got 1001); split it and chain the parts with "
            "run_job_task",
        )
    ]
    assert findings(*[task(f"t{i}") for i in range(1000)]) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "run date",
            "job parameter name 'run date' may contain only letters, digits, '_', '-' and '.'",
        ),
        (
            "dollar$",
            "job parameter name 'dollar$' may contain only letters, digits, '_', '-' and '.'",
        ),
    ],
)
def test_job_parameter_names(name: str, message: str) -> None:
    assert findings(parameters=[{"name": name, "default": ""}]) == [("parameters[0].name", message)]


def test_duplicate_job_parameters() -> None:
    parameters = [{"name": "day", "default": "1"}, {"name": "day", "default": "2"}]

    assert findings(parameters=parameters) == [
        ("parameters[1].name", "duplicate job parameter 'day' (also parameters[0])")
    ]


def test_job_parameters_a_task_could_not_tell_apart() -> None:
    # `run-date`, `run_date` and `run.date` are three names, but one environment variable
    parameters = [{"name": "run-date", "default": "1"}, {"name": "Run_Date", "default": "2"},
                  {"name": "region", "default": "eu"}, {"name": "run.date", "default": "3"}]

    assert findings(parameters=parameters) == [
        ("parameters[1].name", "job parameters 'run-date' and 'Run_Date' would both reach a "
         "task as the environment variable HEADWATER_PARAM_RUN_DATE; rename one of them"),
        ("parameters[3].name", "job parameters 'run-date' and 'run.date' would both reach a "
         "task as the environment variable HEADWATER_PARAM_RUN_DATE; rename one of them"),
    ]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("has space", "task_key 'has space' may contain only letters, digits, '_' and '-'"),
        ("dotted.key", "task_key 'dotted.key' may contain only letters, digits, '_' and '-'"),
        ("", "task_key '' may contain only letters, digits, '_' and '-'"),
        ("k" * 101, "task_key is 101 characters long; the limit is 100"),
    ],
)
def test_task_key_format(key: str, message: str) -> None:
    assert findings(task(key)) == [("tasks[0].task_key", message)]


def test_a_100_character_task_key_is_fine() -> None:
    assert findings(task("k" * 100)) == []


def for_each(nested: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return task("loop", for_each_task={"inputs": "[1, 2]", "task": nested}, **fields)


def test_for_each_cannot_nest_for_each() -> None:
    inner = for_each(task("inner_body"))
    inner["task_key"] = "inner"

    assert findings(for_each(inner)) == [
        (
            "tasks[0].for_each_task.task.for_each_task",
            "a for_each_task cannot nest another for_each_task; wrap the inner loop in a "
            "separate job and call it with run_job_task",
        )
    ]


def test_literal_for_each_inputs_must_be_a_json_array_and_a_reference_waits_for_the_run(
        ) -> None:
    def loop_over(inputs: str) -> dict[str, Any]:
        return task("loop", for_each_task={"inputs": inputs, "task": task("body")})

    cut = findings(loop_over("[1, 2"))
    scalar = findings(loop_over('{"a": 1}'))

    assert [path for path, _ in cut] == ["tasks[0].for_each_task.inputs"]
    assert cut[0][1].startswith("is not a JSON array: ")
    assert "(got '[1, 2'); give a JSON array such as" in cut[0][1]
    assert scalar[0][1].startswith("must be a JSON array, got dict")
    assert findings(loop_over('["a", "b"]')) == []
    assert findings(loop_over("{{job.parameters.items}}"), parameters=[
        {"name": "items", "default": "[1]"}]) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_retries", 2), ("min_retry_interval_millis", 1000), ("retry_on_timeout", True)],
)
def test_retries_go_on_the_nested_task_not_the_for_each(field: str, value: object) -> None:
    assert findings(for_each(task("body"), **{field: value})) == [
        (
            f"tasks[0].{field}",
            f"{field} is not allowed on a for_each task itself; move it to the nested task "
            "(for_each_task.task), which is retried per iteration",
        )
    ]
    assert findings(for_each(task("body", **{field: value}))) == []


def test_condition_tasks_take_no_retries() -> None:
    result = findings(task("cond", max_retries=1, retry_on_timeout=False, **CONDITION))

    assert result == [
        ("tasks[0].max_retries", "condition tasks are never retried; remove max_retries")
    ]


def test_condition_tasks_send_no_notifications_but_may_carry_empty_ones() -> None:
    result = findings(task("cond", email_notifications={"on_failure": ["ops@localhost"]},
                           webhook_notifications={"on_start": [{"id": "hook"}]}, **CONDITION))

    assert result == [
        ("tasks[0].email_notifications", "condition tasks send no notifications; remove "
         "email_notifications, or put it on the job or on a task the condition leads to"),
        ("tasks[0].webhook_notifications", "condition tasks send no notifications; remove "
         "webhook_notifications, or put it on the job or on a task the condition leads to")]
    # what Databricks' exports write on every task
    assert findings(task("cond", email_notifications={}, webhook_notifications={},
                         **CONDITION)) == []


def test_nested_tasks_are_checked_too() -> None:
    result = findings(for_each({"task_key": "bad key"}))

    assert [path for path, _ in result] == [
        "tasks[0].for_each_task.task.task_key",
        "tasks[0].for_each_task.task",
    ]


def test_at_most_three_destinations_per_event() -> None:
    hooks = {"on_failure": [{"id": str(i)} for i in range(4)], "on_start": [{"id": "1"}]}

    result = findings(task("a", webhook_notifications=hooks), webhook_notifications=hooks)

    assert result == [
        ("webhook_notifications.on_failure", "at most 3 destinations per event (got 4)"),
        ("tasks[0].webhook_notifications.on_failure", "at most 3 destinations per event (got 4)"),
    ]


def test_destination_ids_are_checked_against_the_configured_ones_when_known() -> None:
    settings = JobSettings.model_validate({
        "tasks": [task("a", webhook_notifications={"on_failure": [{"id": "hook"}]})],
        "webhook_notifications": {"on_success": [{"id": "hookk"}]}})

    unchecked = check_job(settings)
    checked = check_job(settings, {"hook"})
    none_configured = check_job(settings, set())

    assert unchecked == []
    assert checked == [("webhook_notifications.on_success[0].id",
                        "no notification destination 'hookk' (did you mean 'hook'?); the "
                        "configured ones are: hook; correct the id, or add it under "
                        "`destinations:` in the configuration file (headwater.yml)")]
    assert [path for path, _ in none_configured] == [
        "webhook_notifications.on_success[0].id",
        "tasks[0].webhook_notifications.on_failure[0].id"]
    assert "none is configured: add it under `destinations:`" in none_configured[0][1]


def test_a_request_body_is_checked_against_the_destinations_given() -> None:
    body = {"name": "j", "tasks": [task("a")],
            "webhook_notifications": {"on_failure": [{"id": "pager"}]}}

    with pytest.raises(SpecError) as raised:
        settings_from_body(body, "new_settings", destinations={"hook"})

    assert str(raised.value.problems[0]).startswith(
        "$.new_settings.webhook_notifications.on_failure[0].id: no notification destination "
        "'pager'; the configured ones are: hook")
    assert settings_from_body(body).name == "j"  # no destinations known: not checked


def test_run_job_task_names_exactly_one_job() -> None:
    result = findings(
        task("neither", run_job_task={}),
        task("both", run_job_task={"job_id": 1, "job_name": "x"}),
        task("ok", run_job_task={"job_name": "x"}),
    )

    assert result == [
        ("tasks[0].run_job_task", "set job_id, or job_name for a job of this bundle"),
        ("tasks[1].run_job_task.job_name", "set job_id or job_name, not both"),
    ]


def test_paths_round_trip() -> None:
    parts = ("tasks", 3, "depends_on", 0, "task_key")

    assert format_path(parts) == "tasks[3].depends_on[0].task_key"
    assert parse_path(format_path(parts)) == parts
    assert parse_path("") == ()


def test_find_cycle_follows_run_order() -> None:
    assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": [], "b": ["a"]}) == []


def test_suggest() -> None:
    assert suggest("lod", ["load", "report"]) == " (did you mean 'load'?)"
    assert suggest("zzz", ["load"]) == ""
    # case aside: an enum value written in another case is still close to its own
    assert suggest("all_done", ["ALL_SUCCESS", "ALL_DONE"]) == " (did you mean 'ALL_DONE'?)"


def test_a_workspace_code_path_is_accepted_it_names_the_workspace_folder_s_file() -> None:
    assert findings({"task_key": "t", "notebook_task": {"notebook_path": "/Workspace/Users/me/x"},
                     "libraries": [{"whl": "/Workspace/Shared/libs/x-1-py3-none-any.whl"}]}) == []


@pytest.mark.parametrize("path", ["dbfs:/scripts/x.py", "/Repos/me/x", "s3://b/x.py"])
def test_a_workspace_or_cloud_code_path_is_refused_with_how_to_fix(path: str) -> None:
    found = findings({"task_key": "t", "spark_python_task": {"python_file": path}})
    assert found == [("tasks[0].spark_python_task.python_file",
                      f"{path!r} is a Databricks workspace or cloud path; headwater runs files "
                      "from the job's directory: copy the file next to the job file and give a "
                      "relative path")]


def test_an_unknown_environment_key_suggests_the_defined_one() -> None:
    found = findings({"task_key": "t", "environment_key": "defualt",
                      "spark_python_task": {"python_file": "x.py"}},
                     environments=[{"environment_key": "default",
                                    "spec": {"dependencies": ["six"]}}])
    assert found == [("tasks[0].environment_key",
                      "unknown environment 'defualt' (did you mean 'default'?); define it under "
                      "`environments:` with its dependencies")]


def test_an_unsupported_lakeflow_task_type_is_named_as_such(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from headwater.core.load import load_file
    from headwater.errors import SpecError

    path = tmp_path / "job.json"
    path.write_text('{"name": "j", "tasks": [{"task_key": "t", '
                    '"spark_jar_task": {"main_class_name": "x"}}]}')
    with pytest.raises(SpecError) as error:
        load_file(path)
    assert "spark_jar_task is a Lakeflow task type headwater does not run" in str(error.value)
    assert "did you mean" not in str(error.value)


def test_a_cluster_size_no_cluster_can_have_is_found_before_it_starts() -> None:
    found = findings(
        task("t", job_cluster_key="a"), task("u", new_cluster={"num_workers": 1.5}),
        task("v", new_cluster={"num_workers": 0}),  # a single node: fine
        job_clusters=[
            {"job_cluster_key": "a", "new_cluster": {"num_workers": -1}},
            {"job_cluster_key": "b", "new_cluster": {"num_workers": True}},
            {"job_cluster_key": "c", "new_cluster": {"autoscale": {"min_workers": 5,
                                                                    "max_workers": 2}}},
            {"job_cluster_key": "d", "new_cluster": {"autoscale": {"max_workers": "4"}}},
            {"job_cluster_key": "e", "new_cluster": {"autoscale": {"min_workers": 1,
                                                                    "max_workers": 3}}}])

    assert found == [
        ("job_clusters[0].new_cluster.num_workers",
         "must be 0 or more workers (0: a single node), got -1"),
        ("job_clusters[1].new_cluster.num_workers",
         "must be 0 or more workers (0: a single node), got True"),
        ("job_clusters[2].new_cluster.autoscale",
         "min_workers 5 is more than max_workers 2; swap them"),
        ("job_clusters[3].new_cluster.autoscale.max_workers", "must be 0 or more workers, got '4'"),
        ("tasks[1].new_cluster.num_workers",
         "must be 0 or more workers (0: a single node), got 1.5")]
