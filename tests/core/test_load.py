"""Loading job files for real from disk: every problem reported, each at its file:line:col."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from headwater.core.load import LoadedJob, load_bundle, load_file, load_files, read_bundles
from headwater.core.load_yaml import StrictLoader, StrictYamlError
from headwater.errors import Problem, SpecError

FIXTURES = Path(__file__).parent.parent / "fixtures" / "specs"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def problems_of(*paths: Path, target: str | None = None) -> list[Problem]:
    with pytest.raises(SpecError) as raised:
        load_files(list(paths), target)
    return raised.value.problems


FIVE_MISTAKES = """
resources:
  jobs:
    etl:
      name: etl
      timeout_seconds: -5
      tasks:
        - task_key: extract
          notebok_task:
            notebook_path: extract.py
          run_if: ALL_SUCESS
          retry_on_timeout: yes
          task_key: extract_again
"""


def test_five_mistakes_in_one_file_are_all_reported_at_their_place(tmp_path: Path) -> None:
    # Given a job with five different mistakes
    path = write(tmp_path, "job.yml", FIVE_MISTAKES)

    # When it is loaded
    problems = problems_of(path)

    # Then all five are reported, in file order, each at line:col of the offending text
    assert [(p.where, p.path) for p in problems] == [
        (f"{path}:5:24", "timeout_seconds"),
        (f"{path}:8:11", "tasks[0].notebok_task"),
        (f"{path}:10:19", "tasks[0].run_if"),
        (f"{path}:11:29", "tasks[0].retry_on_timeout"),
        (f"{path}:12:11", "tasks[0].task_key"),
    ]
    messages = [p.message for p in problems]
    assert messages[0] == "must be >= 0 (got -5)"
    assert messages[1] == "unknown field 'notebok_task' (did you mean 'notebook_task'?)"
    assert messages[2].startswith("must be one of ALL_SUCCESS, AT_LEAST_ONE_SUCCESS, ")
    assert messages[2].endswith("(got 'ALL_SUCESS'; did you mean 'ALL_SUCCESS'?)")
    assert "did you mean 'ALL_SUCCESS'?" in messages[2]
    assert "'yes' is ambiguous" in messages[3]
    assert "write true or false" in messages[3]
    assert messages[4].startswith("duplicate key 'task_key' (first at line 7, column 11)")
    assert str(problems[0]) == f"{path}:5:24: timeout_seconds: must be >= 0 (got -5)"


def test_the_same_job_as_json_loads_and_equals_the_yaml_one() -> None:
    (from_json,) = load_file(FIXTURES / "nightly_etl.json")
    from_yaml = load_file(FIXTURES / "bundle.yml", target="prod")  # production: no dev prefix

    assert from_json == LoadedJob("nightly_etl", from_json.settings, FIXTURES / "nightly_etl.json")
    # A bundle's file paths become absolute from the file that writes them (as the Databricks
    # CLI translates them); a jobs/create body keeps them as written.
    as_yaml = from_yaml[0].settings.model_dump_json()
    assert f'"{FIXTURES}/load.py"' in as_yaml
    assert as_yaml.replace(f"{FIXTURES}/", "") == from_json.settings.model_dump_json()


def test_several_jobs_per_bundle_file_keep_their_resource_names() -> None:
    jobs = load_file(FIXTURES / "bundle.yml", target="prod")  # production: no dev prefix

    assert [job.resource_name for job in jobs] == ["nightly_etl", "weekly_report"]
    assert [job.settings.name for job in jobs] == ["nightly-etl", "weekly-report"]
    assert all(job.source == FIXTURES / "bundle.yml" for job in jobs)


def test_bundle_sections_are_parsed_and_kept() -> None:
    (bundle,) = read_bundles([FIXTURES / "bundle.yml"])

    assert set(bundle.sections) == {"bundle", "variables", "targets"}
    assert bundle.sections["bundle"] == {"name": "lab"}
    assert [job.resource_name for job in bundle.jobs] == ["nightly_etl", "weekly_report"]


def test_a_known_target_is_accepted_and_an_unknown_one_is_named(tmp_path: Path) -> None:
    assert len(load_file(FIXTURES / "bundle.yml", target="prod")) == 2

    (problem,) = problems_of(FIXTURES / "bundle.yml", target="prd")

    assert problem.where == f"{FIXTURES / 'bundle.yml'}:11:3"
    assert problem.message == (
        "unknown target 'prd' (did you mean 'prod'?); the targets defined are: dev, prod"
    )


def test_a_target_may_be_defined_in_another_file_of_the_bundle(tmp_path: Path) -> None:
    jobs = write(tmp_path, "jobs.yml", "resources:\n  jobs:\n    a:\n      tasks: []\n")
    main = write(tmp_path, "databricks.yml", "bundle:\n  name: x\ntargets:\n  dev: {}\n")

    assert [job.resource_name for job in load_files([jobs, main], target="dev")] == ["a"]
    (problem,) = problems_of(jobs, target="dev")
    assert "no file defines targets" in problem.message


def test_duplicate_yaml_keys_point_at_the_second_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              name: first
              timeout_seconds: 10
              name: second
        """,
    )

    (problem,) = problems_of(path)

    assert problem.where == f"{path}:6:7"
    assert problem.message == (
        "duplicate key 'name' (first at line 4, column 7); keep only one of them"
    )


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "Yes", "NO", "ON"])
def test_yaml_1_1_booleans_must_be_quoted_or_written_true_false(tmp_path: Path, word: str) -> None:
    path = write(
        tmp_path,
        "job.yml",
        f"""
        resources:
          jobs:
            etl:
              tasks:
                - task_key: a
                  disabled: {word}
                  shell_command_task: {{command: "true"}}
        """,
    )

    (problem,) = problems_of(path)

    assert problem.where == f"{path}:6:21"
    assert problem.path == "tasks[0].disabled"
    assert problem.message == (
        f"{word!r} is ambiguous: YAML 1.1 reads it as a boolean; write true or false for a "
        f'boolean, or quote it ("{word}") for the text'
    )


def test_a_key_is_a_name_never_a_boolean(tmp_path: Path) -> None:
    # Given variables and parameters named n and y (YAML 1.1 words for booleans), and a value n
    path = write(tmp_path, "job.yml", """
        variables:
          n: {default: 3}
          y: {default: "x"}
        resources:
          jobs:
            etl:
              parameters: [{name: n, default: "${var.n}"}]
              tasks:
                - task_key: a
                  shell_command_task: {command: "true", env: {y: "${var.y}", on: off}}
        """)

    # Then the keys are names, n and y are text; only the value off is ambiguous
    (problem,) = problems_of(path)
    assert problem.where == f"{path}:10:74"
    assert "'off' is ambiguous" in problem.message


def test_quoted_words_and_true_false_are_fine(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              tags: {answer: "yes", switch: 'on'}
              tasks:
                - task_key: a
                  disabled: True
                  retry_on_timeout: false
                  shell_command_task: {command: "true", env: {DAY: 2024-01-31}}
        """,
    )

    (job,) = load_file(path)

    assert job.settings.tags == {"answer": "yes", "switch": "on"}
    task = job.settings.tasks[0]
    assert (task.disabled, task.retry_on_timeout) == (True, False)
    assert task.shell_command_task is not None
    assert task.shell_command_task.env == {"DAY": "2024-01-31"}  # dates stay text


def test_the_strict_loader_works_with_plain_yaml_load() -> None:
    with pytest.raises(StrictYamlError) as raised:
        yaml.load("a: 1\nb: off\na: 2\n", Loader=StrictLoader)

    assert [(i.line, i.column) for i in raised.value.issues] == [(2, 4), (3, 1)]
    assert yaml.load("a: true\nb: no-way\n", Loader=StrictLoader) == {"a": True, "b": "no-way"}


def test_unknown_field_suggests_the_nearest_name_and_points_at_the_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              max_concurent_runs: 2
              tasks: []
        """,
    )

    (problem,) = problems_of(path)

    assert problem.where == f"{path}:4:7"
    assert problem.message == (
        "unknown field 'max_concurent_runs' (did you mean 'max_concurrent_runs'?)"
    )


def test_a_cycle_names_its_tasks_at_the_closing_dependency(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              tasks:
                - task_key: a
                  depends_on: [{task_key: c}]
                  shell_command_task: {command: "true"}
                - task_key: b
                  depends_on: [{task_key: a}]
                  shell_command_task: {command: "true"}
                - task_key: c
                  depends_on: [{task_key: b}]
                  shell_command_task: {command: "true"}
        """,
    )

    (problem,) = problems_of(path)

    assert problem.message.startswith("the tasks form a cycle: a -> b -> c -> a")
    assert problem.path == "tasks[1].depends_on[0]"
    assert problem.where == f"{path}:9:24"


def test_semantic_problems_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  shell_command_task: {command: "true"}
                - task_key: report
                  depends_on:
                    - task_key: lod
                  shell_command_task: {command: "true"}
        """,
    )

    (problem,) = problems_of(path)

    assert str(problem) == (
        f"{path}:9:25: tasks[1].depends_on[0].task_key: unknown task 'lod' (did you mean "
        "'load'?); depends_on names the task_key of another task of this job"
    )


def test_problems_of_all_files_come_in_one_report(tmp_path: Path) -> None:
    bad_yaml = write(tmp_path, "a.yml", "resources:\n  jobs:\n    a:\n      timeout_seconds: x\n")
    bad_json = write(tmp_path, "b.json", '{"tasks": [{"task_key": "t", "max_retries": -2}]}')

    problems = problems_of(bad_yaml, bad_json)

    assert [p.where for p in problems] == [
        f"{bad_yaml}:4:24",
        f"{bad_json}: $.tasks[0].max_retries",
    ]
    assert problems[1].message == "must be >= -1 (got -2)"


def test_json_errors_carry_a_json_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "job.json",
        """
        {"tasks": [
          {"task_key": "a", "shell_command_task": {"command": "true"}},
          {"task_key": "b", "shell_command_task": {"command": "true"}},
          {"task_key": "c", "timeout_seconds": "60", "shell_command_task": {"command": "true"}}
        ]}
        """,
    )

    (problem,) = problems_of(path)

    assert str(problem) == (
        f"{path}: $.tasks[2].timeout_seconds: "
        "must be an integer (got '60'); remove the quotes"
    )


def test_what_databricks_jobs_get_prints_is_read_as_its_settings(tmp_path: Path) -> None:
    # Given a job exported with `databricks jobs get 123 > job.json`: a `Job`, not settings
    settings = {"name": "nightly", "tasks": [
        {"task_key": "a", "shell_command_task": {"command": "true"}}], "format": "MULTI_TASK"}
    document = {"job_id": 123, "creator_user_name": "ann@example.com",
                "created_time": 1700000000000, "settings": settings}
    exported = write(tmp_path, "exported.json", json.dumps(document))
    broken = write(tmp_path, "broken.json", json.dumps(
        {**document, "settings": {**settings, "timeout_seconds": "60"}}))

    # Then its settings are the job, and a problem in them is located inside `settings`
    (job,) = load_file(exported)
    assert job.settings.name == "nightly" and [t.task_key for t in job.settings.tasks] == ["a"]
    (problem,) = problems_of(broken)
    assert problem.where == f"{broken}: $.settings.timeout_seconds"
    # while settings that merely hold a field named `settings` are not taken for a `Job`
    stray = write(tmp_path, "stray.json", json.dumps({**settings, "settings": {}}))
    (problem,) = problems_of(stray)
    assert problem.where == f"{stray}: $.settings"


def test_json_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "job.json", '{\n  "name": "x",\n  "tasks": [,]\n}\n')

    (problem,) = problems_of(path)

    assert problem.where == f"{path}:3:13"
    assert problem.message.startswith("invalid JSON: ")


def test_json_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path, "job.json", '{"name": "a", "tasks": [{"task_key": "x", "task_key": "y"}]}'
    )

    (problem,) = problems_of(path)

    assert problem.where == f"{path}: $.tasks[0].task_key"
    assert problem.message == "duplicate key 'task_key'; keep only one of them"


def test_yaml_syntax_errors_give_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "job.yml", "resources:\n  jobs: [unclosed\n")

    (problem,) = problems_of(path)

    assert problem.where.startswith(f"{path}:3:")
    assert problem.message.startswith("invalid YAML: ")


JOB_HEAD = "resources:\n  jobs:\n    etl:\n      tasks:\n        - task_key: a\n"


@pytest.mark.parametrize(("text", "where", "fix"), [
    # a tab where YAML wants spaces
    (JOB_HEAD + "\t  shell_command_task: {command: x}\n", "6:1",
     "a tab: YAML indents with spaces only; replace the tabs with spaces"),
    # a line indented one space deeper than its neighbours
    (JOB_HEAD + "           shell_command_task: {command: x}\n", "6:30",
     "a 'key: value' here continues the line above: indent this line as the keys beside it "
     "(not deeper), put a space after the ':' of the line above, or put a value that holds "
     "': ' in quotes"),
    # no space after a colon, so the key and value are one text that the next line continues
    ("resources:\n  jobs:\n    etl:\n      name:etl\n      tasks: []\n", "5:12",
     "a 'key: value' here continues the line above"),
    # a quote never closed: reported where it opens, not at the end of the file
    ('resources:\n  jobs:\n    etl:\n      name: "etl\n      tasks: []\n', "4:13",
     "this quote is never closed: close it (inside single quotes, write a quote as '')"),
    ("resources:\n  jobs:\n    etl:\n      name: @etl\n", "4:13",
     "a plain value cannot start with '@': put the value in quotes"),
    ("resources:\n  jobs:\n    etl:\n      tags: [a, b\n", "5:1",
     "a '[' or '{' is not closed: close it, and separate its items with ', '"),
    (JOB_HEAD + "      - task_key: b\n", "6:7", "the indentation of this line does not match"),
])
def test_yaml_syntax_errors_say_how_to_fix_the_common_mistakes(
        tmp_path: Path, text: str, where: str, fix: str) -> None:
    path = tmp_path / "job.yml"
    path.write_text(text)

    (problem,) = problems_of(path)

    assert problem.where == f"{path}:{where}"
    assert problem.message.startswith("invalid YAML: ")  # what the parser saw, then the fix
    assert f"; {fix}" in problem.message


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", "{path}", "the file is empty; define jobs under resources.jobs.<name>"),
        ("- a\n", "{path}:1:1", "must be a mapping with resources.jobs.<name> (got a list)"),
        ("bundel: {}\n", "{path}:1:1", "unknown section 'bundel' (did you mean 'bundle'?)"),
        (
            "tasks: []\n",
            "{path}:1:1",
            "'tasks' is a job setting; in a YAML file jobs live under resources.jobs.<name>: "
            "move the job there",
        ),
        (
            "resources:\n  job: {}\n",
            "{path}:2:3",
            "unknown resource type 'job' (did you mean 'jobs'?); the Databricks CLI knows: "
            "jobs, job_runs, pipelines, models, experiments, model_serving_endpoints, "
            "registered_models, quality_monitors, catalogs, schemas, volumes, "
            "external_locations, clusters, dashboards, genie_spaces, apps, secret_scopes, "
            "alerts, sql_warehouses, database_instances, database_catalogs, "
            "synced_database_tables, postgres_projects, postgres_branches, postgres_endpoints, "
            "postgres_catalogs, postgres_databases, postgres_roles, postgres_synced_tables, "
            "vector_search_endpoints, vector_search_indexes, instance_pools, secrets",
        ),
        ("resources:\n  jobs: [a]\n", "{path}:2:9", "must be a mapping (got a list)"),
    ],
)
def test_bundle_layout_problems(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write(tmp_path, "job.yml", text)

    (problem,) = problems_of(path)

    assert (problem.where, problem.message) == (where.format(path=path), message)


def test_a_resource_name_defined_twice_across_files_is_an_error(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yml", "resources:\n  jobs:\n    etl:\n      tasks: []\n")
    second = write(tmp_path, "b.yml", "resources:\n  jobs:\n    etl:\n      tasks: []\n")

    (problem,) = problems_of(first, second)

    assert problem.where == f"{second}:3:5"
    assert problem.message.startswith(f"job 'etl' is also defined at {first}:3:5")


def test_unsupported_and_unreadable_files(tmp_path: Path) -> None:
    text_file = write(tmp_path, "job.txt", "x")

    problems = problems_of(text_file, tmp_path / "missing.json")

    assert problems[0].message == "unsupported file type '.txt'; use .json, .yml or .yaml"
    assert problems[1].message.startswith("cannot read the file: ")


def test_graph_problems_are_reported_beside_field_problems(tmp_path: Path) -> None:
    # Given a job whose fields AND graph are wrong, with an unusable task in the middle
    path = write(
        tmp_path,
        "job.yml",
        """
        resources:
          jobs:
            etl:
              tasks:
                - task_key: load
                  run_if: SOMETIMES
                  shell_command_task: {command: "true"}
                - description: no task_key at all
                - task_key: load
                  depends_on: [{task_key: lod}]
                  shell_command_task: {command: "true"}
        """,
    )

    # When it is loaded
    problems = problems_of(path)

    # Then the field problems and the graph problems come together, at the original indexes
    assert [(p.where, p.path) for p in problems] == [
        (f"{path}:6:19", "tasks[0].run_if"),
        (f"{path}:8:11", "tasks[1].task_key"),
        (f"{path}:9:21", "tasks[2].task_key"),
        (f"{path}:10:35", "tasks[2].depends_on[0].task_key"),
    ]
    assert problems[0].message == (
        "must be one of ALL_SUCCESS, AT_LEAST_ONE_SUCCESS, NONE_FAILED, ALL_DONE, "
        "AT_LEAST_ONE_FAILED, ALL_FAILED (got 'SOMETIMES')"
    )
    assert problems[1].message == "missing required field 'task_key'; add it"
    assert problems[2].message.startswith("duplicate task_key 'load': tasks[0] and tasks[2]")
    assert problems[3].message.startswith("unknown task 'lod' (did you mean 'load'?)")


def test_a_task_that_is_not_a_mapping_keeps_the_other_indexes(tmp_path: Path) -> None:
    body = {
        "tasks": [
            {"task_key": "a", "shell_command_task": {"command": "true"}},
            "not a task",
            {"task_key": "a", "depends_on": [{"task_key": "b"}], "health": {"rules": ["x"]}},
        ]
    }
    path = write(tmp_path, "job.json", json.dumps(body))

    problems = problems_of(path)

    assert [(p.path, p.message.split(";")[0].split(" (")[0]) for p in problems] == [
        ("tasks[1]", "must be a mapping of fields"),
        ("tasks[2].health.rules[0]", "must be a mapping of fields"),
        ("tasks[2].task_key", "duplicate task_key 'a': tasks[0] and tasks[2] both use it"),
        ("tasks[2].depends_on[0].task_key", "unknown task 'b'"),
    ]


def test_included_files_join_the_bundle_and_a_pattern_matching_nothing_is_located(
        tmp_path: Path) -> None:
    (tmp_path / "resources").mkdir()
    (tmp_path / "databricks.yml").write_text(
        "bundle:\n  name: b\ninclude:\n  - resources/*.yml\ntargets:\n  dev:\n    default: true\n")
    (tmp_path / "resources" / "job.yml").write_text(
        "resources:\n  jobs:\n    hello:\n      name: hello\n      tasks:\n"
        "        - task_key: say_hello\n          shell_command_task:\n"
        "            command: echo hello\n")
    (job,) = load_file(tmp_path / "databricks.yml", target="dev")
    # The job runs from the bundle's root, whichever file defines it
    assert job.resource_name == "hello" and job.source == tmp_path / "databricks.yml"
    assert job.defined_in == tmp_path / "resources" / "job.yml"
    assert job.target == "dev"
    # A pattern that matches nothing is a warning, as the Databricks CLI goes on without it,
    # at the pattern's own line (not at the first pattern's)
    (tmp_path / "databricks.yml").write_text("include:\n  - resources/*.yml\n  - nothing/*.yml\n")
    loaded = load_bundle([tmp_path / "databricks.yml"])
    (warning,) = loaded.warnings
    assert str(warning) == (f"{tmp_path / 'databricks.yml'}:3:5: include[1]: the pattern "
                            "'nothing/*.yml' matches no file next to databricks.yml")
    assert [job.resource_name for job in loaded.jobs] == ["hello"]


def alias_bomb(levels: int) -> str:
    """`levels` levels of nine-fold aliases, the last one a job's description (10 kB of text)."""
    lines = ['x0: &x0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x{n}: &x{n} [" + ", ".join([f"*x{n - 1}"] * 9) + "]"
              for n in range(1, levels + 1)]
    return ("\n".join(lines) + "\nresources:\n  jobs:\n    etl:\n      name: etl\n"
            f"      description: *x{levels}\n")


def test_an_alias_bomb_is_refused_at_its_place_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.yml", alias_bomb(9))

    [problem] = problems_of(path)

    assert problem.where == f"{path}:7:5"
    assert "with its aliases expanded, this value holds more than 1,000,000 values" in \
        problem.message


def test_a_value_that_contains_itself_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "loop.yml", "x: &x [1, *x]\nresources: {jobs: {}}\n")

    [problem] = problems_of(path)

    assert problem.where == f"{path}:1:4"
    assert "an alias refers to a value that contains it" in problem.message


def test_anchors_and_aliases_of_ordinary_use_load(tmp_path: Path) -> None:
    path = write(tmp_path, "anchors.yml", """
        resources:
          jobs:
            etl:
              name: etl
              tasks:
                - task_key: a
                  shell_command_task: &echo {command: "echo hi"}
                - task_key: b
                  shell_command_task: *echo
        """)

    [job] = load_files([path])

    assert [t.shell_command_task.command for t in job.settings.tasks] == ["echo hi"] * 2  # type: ignore[union-attr]


@pytest.mark.parametrize("condition", [
    '{op: GREATER, left: "1", right: "0"}',  # an op that is none of the six
    '{left: "1", right: "0"}',  # no op at all
])
def test_a_condition_task_with_a_bad_op_still_branches_its_dependants(
        tmp_path: Path, condition: str) -> None:
    path = write(tmp_path, "job.yml", f"""
        resources:
          jobs:
            etl:
              tasks:
                - task_key: check_rows
                  condition_task: {condition}
                - task_key: load
                  depends_on: [{{task_key: check_rows, outcome: "true"}}]
                  shell_command_task: {{command: "true"}}
                - task_key: report
                  depends_on: [{{task_key: load, outcome: "true"}}]
                  shell_command_task: {{command: "true"}}
        """)

    problems = problems_of(path)

    # the op alone, and the outcome on a real non-condition upstream: no follow-on finding
    assert [p.path for p in problems] == ["tasks[0].condition_task.op",
                                          "tasks[2].depends_on[0].outcome"]
    assert "'load' is not one" in problems[1].message


def test_a_job_that_is_no_mapping_is_named_by_where_it_is_written(tmp_path: Path) -> None:
    path = write(tmp_path, "databricks.yml", """
        bundle: {name: shop}
        resources:
          jobs:
            etl:
            tasks:
              - task_key: load
                shell_command_task: {command: "true"}
        """)

    problems = problems_of(path)

    assert [(p.where, p.path) for p in problems] == [
        (f"{path}:4:9", "resources.jobs.etl"), (f"{path}:6:7", "resources.jobs.tasks")]
    assert problems[0].message == (
        "must be a mapping of fields (got null); write the job's settings (name: ..., "
        "tasks: [...]) indented under 'etl'")
    assert problems[1].message.endswith(
        "'tasks' is a field of a job, read here as a job of its own; indent it under the key "
        "of the job it belongs to")
