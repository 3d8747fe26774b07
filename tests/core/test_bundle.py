"""Bundle targets, variables and modes, loaded for real from files: what each target makes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from headwater.core.bundle import BundleSource, compose_bundle, short_name
from headwater.core.load import LoadedJob, load_file, load_files
from headwater.core.spec import JobSettings, PauseStatus
from headwater.errors import Problem, SpecError

BUNDLE = """
bundle:
  name: lab

variables:
  warehouse:
    default: local_wh
    description: where SQL runs
  retries:
    default: 1
  args:
    type: complex
    default: ["--since", "${var.warehouse}"]
  owner:
    description: who is paged

targets:
  dev:
    mode: development
    default: true
    variables:
      owner: dev-team
  test:
    variables:
      warehouse: test_wh
      owner: qa
  prod:
    mode: production
    variables:
      warehouse: prod_wh
      retries: 5
      owner:
        default: ops
    resources:
      jobs:
        etl:
          schedule:
            pause_status: UNPAUSED
          parameters:
            - name: env
              default: prod
          tasks:
            - task_key: load
              max_retries: 4
            - task_key: publish
              depends_on:
                - task_key: load
              shell_command_task:
                command: ./publish.sh
        audit:
          name: audit
          tasks:
            - task_key: check
              shell_command_task:
                command: ./audit.sh

resources:
  jobs:
    etl:
      name: etl-${bundle.target}
      schedule:
        quartz_cron_expression: "0 0 2 * * ?"
        timezone_id: UTC
      parameters:
        - name: env
          default: dev
        - name: warehouse
          default: ${var.warehouse}
      tags:
        owner: ${var.owner}
      tasks:
        - task_key: extract
          max_retries: ${var.retries}
          spark_python_task:
            python_file: extract.py
            parameters: ${var.args}
        - task_key: load
          depends_on:
            - task_key: extract
          max_retries: 1
          min_retry_interval_millis: 2000
          retry_on_timeout: true
          shell_command_task:
            command: ./load.sh --by ${workspace.current_user.short_name} --in ${var.warehouse}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def at(path: Path, text: str, needle: str, after: str = "") -> str:
    """`path:line:col` of `needle` in the dedented `text` (the first one after `after`)."""
    lines = textwrap.dedent(text).lstrip("\n").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    line = next(i for i in range(start, len(lines)) if needle in lines[i])
    return f"{path}:{line + 1}:{lines[line].index(needle) + 1}"


def jobs_of(path: Path, target: str | None = None, **options: object) -> dict[str, LoadedJob]:
    return {job.resource_name: job for job in load_file(path, target, **options)}  # type: ignore[arg-type]


def problems_of(*paths: Path, target: str | None = None, **options: object) -> list[Problem]:
    with pytest.raises(SpecError) as raised:
        load_files(list(paths), target, **options)  # type: ignore[arg-type]
    return raised.value.problems


def etl(path: Path, target: str | None = None, **options: object) -> JobSettings:
    return jobs_of(path, target, **options)["etl"].settings


def parameters(settings: JobSettings) -> dict[str, str]:
    return {p.name: p.default for p in settings.parameters}


# Targets -------------------------------------------------------------------------------------


def test_the_default_target_applies_without_target(tmp_path: Path) -> None:
    # Given a bundle whose dev target is marked default: true
    path = write(tmp_path, "databricks.yml", BUNDLE)

    # When it is loaded without a target
    (job,) = [
        j for j in load_file(path, user="alice.smith@example.com") if j.resource_name == "etl"
    ]

    # Then dev applies: its mode, its variables and its name for ${bundle.target}
    assert job.target == "dev"
    assert job.settings.name == "[dev alice_smith] etl-dev"
    assert job.settings.tags == {"owner": "dev-team", "dev": "alice_smith"}


def test_job_names_per_target(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    names = {target: etl(path, target, user="bob").name for target in ("dev", "test", "prod")}

    assert names == {"dev": "[dev bob] etl-dev", "test": "etl-test", "prod": "etl-prod"}


def test_prod_merges_tasks_by_task_key_and_keeps_everything_else(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    settings = etl(path, "prod")

    # The override of max_retries on `load` keeps the other tasks and the other fields of `load`
    tasks = {task.task_key: task for task in settings.tasks}
    assert list(tasks) == ["extract", "load", "publish"]  # a new task_key is appended
    assert tasks["load"].max_retries == 4
    assert tasks["load"].min_retry_interval_millis == 2000
    assert tasks["load"].retry_on_timeout is True
    assert [d.task_key for d in tasks["load"].depends_on] == ["extract"]
    assert tasks["load"].shell_command_task is not None
    assert tasks["extract"].max_retries == 5  # ${var.retries} from the prod target
    # parameters merge by name: env is overridden, warehouse kept
    assert parameters(settings) == {"env": "prod", "warehouse": "prod_wh"}


def test_retry_settings_per_target(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    retries = {
        target: [task.max_retries for task in etl(path, target).tasks][:2]
        for target in ("dev", "test", "prod")
    }

    assert retries == {"dev": [1, 1], "test": [1, 1], "prod": [5, 4]}


def test_schedules_are_paused_in_dev_and_unpaused_in_prod(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    dev, test, prod = (etl(path, target) for target in ("dev", "test", "prod"))

    assert dev.schedule is not None and dev.schedule.pause_status == PauseStatus.PAUSED
    assert test.schedule is not None and test.schedule.pause_status is None  # untouched
    assert prod.schedule is not None and prod.schedule.pause_status == PauseStatus.UNPAUSED
    assert dev.max_concurrent_runs == 4  # development mode's default, as in Databricks
    assert "dev" not in prod.tags


def test_an_explicit_pause_status_wins_over_development_mode(tmp_path: Path) -> None:
    # As in Databricks, an individual job opts out of the pause by saying UNPAUSED itself
    text = BUNDLE.replace(
        "timezone_id: UTC\n", "timezone_id: UTC\n        pause_status: UNPAUSED\n"
    )
    path = write(tmp_path, "databricks.yml", text)

    schedule = etl(path, "dev").schedule

    assert schedule is not None and schedule.pause_status == PauseStatus.UNPAUSED


def test_presets_change_the_development_defaults(tmp_path: Path) -> None:
    text = BUNDLE.replace(
        "    default: true\n",
        '    default: true\n    presets:\n      name_prefix: "${var.owner}/"\n'
        "      trigger_pause_status: UNPAUSED\n      tags:\n        cost: low\n",
    )
    path = write(tmp_path, "databricks.yml", text)

    settings = etl(path, user="carol")

    assert settings.name == "dev-team/etl-dev"
    assert settings.schedule is not None and settings.schedule.pause_status is PauseStatus.UNPAUSED
    assert settings.tags == {"owner": "dev-team", "cost": "low", "dev": "carol"}


def test_a_job_defined_only_by_the_target_is_added(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    assert "audit" not in jobs_of(path, "dev")
    audit = jobs_of(path, "prod")["audit"]

    assert audit.settings.name == "audit"
    assert audit.source == path and audit.target == "prod"


def test_an_unknown_target_is_located_with_did_you_mean(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    (problem,) = problems_of(path, target="prdo")

    assert problem.where == at(path, BUNDLE, "dev:", "targets:")  # the targets mapping
    assert problem.message == (
        "unknown target 'prdo' (did you mean 'prod'?); the targets defined are: dev, test, prod"
    )


def test_targets_and_variables_apply_to_jobs_of_other_files(tmp_path: Path) -> None:
    jobs = write(
        tmp_path,
        "jobs.yml",
        """
        resources:
          jobs:
            nightly:
              name: nightly-${var.zone}
              tasks: []
    """,
    )
    main = write(
        tmp_path,
        "databricks.yml",
        """
        variables:
          zone: {default: eu}
        targets:
          prod:
            variables: {zone: us}
            resources:
              jobs:
                nightly:
                  max_concurrent_runs: 3
    """,
    )

    (job,) = load_files([jobs, main], target="prod")

    assert (job.settings.name, job.settings.max_concurrent_runs) == ("nightly-us", 3)
    assert job.source == jobs


# Variables -----------------------------------------------------------------------------------


def test_variables_per_target_and_the_command_line_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    warehouses = {t: parameters(etl(path, t))["warehouse"] for t in ("dev", "test", "prod")}
    from_command_line = etl(path, "prod", variables={"warehouse": "mine", "retries": "7"})

    assert warehouses == {"dev": "local_wh", "test": "test_wh", "prod": "prod_wh"}
    assert parameters(from_command_line)["warehouse"] == "mine"
    assert from_command_line.tasks[0].max_retries == 7  # read as the type of its default
    assert from_command_line.tags["owner"] == "ops"  # long form `owner: {default: ops}`


def test_a_whole_string_reference_keeps_the_type_and_a_partial_one_becomes_text(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    extract, load = etl(path, "test", user="dana").tasks[:2]

    assert extract.max_retries == 1  # an integer, not "1"
    assert extract.spark_python_task is not None
    assert extract.spark_python_task.parameters == ["--since", "test_wh"]  # a complex list
    assert load.shell_command_task is not None
    assert load.shell_command_task.command == "./load.sh --by dana --in test_wh"


def test_an_undefined_variable_is_located_with_did_you_mean(tmp_path: Path) -> None:
    text = BUNDLE.replace("${var.retries}", "${var.retrys}")
    path = write(tmp_path, "databricks.yml", text)

    (problem,) = problems_of(path, target="test")

    assert (problem.where, problem.path) == (
        at(path, text, "${var.retrys}"),
        "tasks[0].max_retries",
    )
    assert problem.message.startswith(
        "${var.retrys}: unknown variable 'retrys' (did you mean 'retries'?); the variables "
        "declared are: warehouse, retries, args, owner"
    )


def test_a_variable_without_a_value_is_an_error_where_it_is_used(tmp_path: Path) -> None:
    text = BUNDLE.replace("    variables:\n      owner: dev-team\n", "")
    path = write(tmp_path, "databricks.yml", text)

    (problem,) = problems_of(path, target="dev")

    assert problem.where == at(path, text, "${var.owner}")
    assert "variable 'owner' has no value" in problem.message
    assert "--var owner=" in problem.message
    assert etl(path, "dev", variables={"owner": "me"}).tags["owner"] == "me"


def test_unknown_command_line_variables_and_bad_types_are_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", BUNDLE)

    problems = problems_of(path, target="test", variables={"warehose": "x", "retries": "many"})

    assert [(p.where, p.path) for p in problems] == [("", "--var warehose"), ("", "--var retries")]
    assert "(did you mean 'warehouse'?)" in problems[0].message
    assert "must be a number (int), like its default (got 'many')" in problems[1].message


def test_other_references_are_left_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "jobs.yml",
        """
        resources:
          jobs:
            a:
              tasks:
                - task_key: t
                  shell_command_task:
                    command: echo ${resources.jobs.b.id}
                    env:
                      JOB: "{{job.id}}"
    """,
    )

    (job,) = load_file(path)

    assert job.settings.tasks[0].shell_command_task is not None
    assert job.settings.tasks[0].shell_command_task.command == "echo ${resources.jobs.b.id}"
    assert job.settings.tasks[0].shell_command_task.env == {"JOB": "{{job.id}}"}
    assert job.target is None


# Locations in merged content -----------------------------------------------------------------


def test_an_invalid_value_from_the_target_is_reported_in_the_target(tmp_path: Path) -> None:
    text = BUNDLE.replace("max_retries: 4", "max_retries: -4")
    path = write(tmp_path, "databricks.yml", text)

    (problem,) = problems_of(path, target="prod")

    assert (problem.where, problem.path) == (at(path, text, "-4"), "tasks[1].max_retries")
    assert problem.message.endswith("(got -4)")


def test_an_unknown_field_in_an_appended_task_points_at_its_key(tmp_path: Path) -> None:
    text = BUNDLE.replace("              depends_on:\n", "              depends_onn:\n")
    path = write(tmp_path, "databricks.yml", text)

    (problem,) = problems_of(path, target="prod")

    assert (problem.where, problem.path) == (at(path, text, "depends_onn"), "tasks[2].depends_onn")
    assert "did you mean 'depends_on'?" in problem.message


def test_a_problem_in_the_top_level_job_still_points_at_the_top_level(tmp_path: Path) -> None:
    text = BUNDLE.replace("min_retry_interval_millis: 2000", "min_retry_interval_millis: -1")
    path = write(tmp_path, "databricks.yml", text)

    (problem,) = problems_of(path, target="prod")

    assert problem.where == at(path, text, "-1", "min_retry_interval_millis")
    assert problem.path == "tasks[1].min_retry_interval_millis"


def test_bad_target_settings_are_located(tmp_path: Path) -> None:
    text = BUNDLE.replace("    mode: production\n", "    mode: prodution\n    defualt: false\n")
    path = write(tmp_path, "databricks.yml", text)

    problems = problems_of(path, target="test")

    assert [(p.where, p.message) for p in problems] == [
        (
            at(path, text, "prodution"),
            "mode must be one of development, production (got "
            "'prodution'; did you mean 'production'?)",
        ),
        (at(path, text, "defualt"), "unknown target setting 'defualt' (did you mean 'default'?)"),
    ]


# The pure core -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("alice.smith@example.com", "alice_smith"),
        ("bob", "bob"),
        ("jo-ann+x@corp", "jo_ann_x"),
    ],
)
def test_short_name_follows_databricks(user: str, expected: str) -> None:
    assert short_name(user) == expected


def test_other_lists_are_concatenated_and_nulls_keep_the_value() -> None:
    base: dict[str, object] = {
        "resources": {
            "jobs": {
                "j": {
                    "tasks": [
                        {"task_key": "a", "libraries": [{"whl": "a.whl"}], "timeout_seconds": 5}
                    ],
                    "tags": {"x": "1"},
                }
            }
        }
    }
    target: dict[str, object] = {
        "targets": {
            "t": {
                "resources": {
                    "jobs": {
                        "j": {
                            "tasks": [
                                {
                                    "task_key": "a",
                                    "libraries": [{"whl": "b.whl"}],
                                    "timeout_seconds": None,
                                }
                            ],
                        }
                    }
                }
            }
        }
    }

    composition = compose_bundle([BundleSource(0, base), BundleSource(1, target)], "t")

    (job,) = composition.jobs
    assert job.data == {
        "tasks": [
            {
                "task_key": "a",
                "libraries": [{"whl": "a.whl"}, {"whl": "b.whl"}],
                "timeout_seconds": 5,
            }
        ],
        "tags": {"x": "1"},
    }
    assert job.origin(("tasks", 0, "libraries", 1)).source == 1
    assert job.origin(("tasks", 0, "timeout_seconds")).source == 0
    assert composition.problems == []


def test_variables_referring_to_each_other_in_a_cycle_are_reported() -> None:
    data = {
        "variables": {"a": {"default": "${var.b}"}, "b": {"default": "x-${var.a}"}},
        "resources": {"jobs": {"j": {"name": "${var.a}"}}},
    }

    (problem,) = compose_bundle([BundleSource(0, data)]).problems

    assert problem.path == "name"
    assert "cycle: a -> b -> a" in problem.message
