"""`headwater lint` on real files: one finding per problem, each with its rule, fix and place."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from headwater.cli.design import lint
from headwater.design.lint import RULES, hard_coded_markers, is_meaningless, rule_table
from headwater.design.lint_rules import DEFAULT_NAMING
from tests.design.conftest import Invoke

FINDING = re.compile(r"(?P<file>.+):(?P<line>\d+):(?P<col>\d+): (?P<id>HW\d{3}) (?P<msg>.+); "
                     r"fix: (?P<fix>.+)")


def place(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based line and column of the n-th occurrence of `needle` in `text`."""
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def findings(output: str) -> list[tuple[int, int, str, str]]:
    """(line, col, rule id, fix) of every finding line; asserts every line is well-formed."""
    found = []
    for line in output.splitlines()[:-1]:
        match = FINDING.fullmatch(line)
        assert match, f"not a finding line: {line!r}"
        assert match["fix"] == RULES[match["id"]].fix
        found.append((int(match["line"]), int(match["col"]), match["id"], match["msg"]))
    return found


def test_a_poor_job_gets_exactly_one_finding_per_problem(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given a job with no timeouts, no retries, no alerts, a name that says nothing, unlimited
    # retries without a pause, a hard-coded home path, no schedule on prod and no job timeout
    path = job_file("poor_job.yml")
    text = path.read_text()

    # When it is linted
    result = run_lint(path)

    # Then each problem is reported once, at its place in the file, with its rule and fix
    assert result.exit_code == 1, result.output  # HW104 is an error
    job_key = place(text, "poor:")
    task_1 = place(text, "task_key: task_1")
    assert [(line, col, rule) for line, col, rule, _ in findings(result.output)] == [
        (*job_key, "HW201"),  # no job timeout
        (*job_key, "HW202"),  # no failure alert
        (*place(text, "New Job"), "HW106"),  # the job's name says nothing
        (*task_1, "HW101"),  # no task timeout
        (*task_1, "HW102"),  # ingestion without retries
        (*place(text, "task_1"), "HW106"),  # the task key says nothing
        (*place(text, '"/Users/bob/dev/orders.csv"'), "HW105"),  # hard-coded path
        (*place(text, "-1"), "HW104"),  # retry storm
        (*place(text, "task_key: publish_gold_report"), "HW103"),  # no retries (info)
        (*place(text, "prod:", 1), "HW203"),  # prod target without schedule
    ]
    assert result.output.splitlines()[-1] == "10 findings: 1 error, 8 warnings, 1 info"
    assert f"{path}:{task_1[0]}:{task_1[1]}: HW101 task 'task_1' has no timeout; " \
           "fix: set timeout_seconds" in result.output.splitlines()


def test_values_from_variables_or_parameters_and_device_files_are_not_hard_coded(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the poor job, whose other values are `${var.batch}` (= "prod_batch"), "products"
    # and a command writing to /dev/null
    result = run_lint(job_file("poor_job.yml"))

    # Then only the hard-coded home path is reported as hard-coded
    assert [f for f in findings(result.output) if f[2] == "HW105"] == [
        (13, 26, "HW105", "task 'task_1' hard-codes '/Users/' and 'dev' in "
                          "spark_python_task.parameters[0] ('/Users/bob/dev/orders.csv')")]


def test_a_good_job_is_clean(job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    result = run_lint(job_file("good_job.yml"), "--strict")

    assert result.output == "no findings\n"
    assert result.exit_code == 0


def test_job_and_task_tags_disable_rules(job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the poor job, tagged to disable two job rules and two rules for task_1
    path = job_file("poor_job.yml")
    tags = ('      tags:\n        headwater-lint-disable: "HW201, HW202"\n'
            '        "headwater-lint-disable:task_1": HW101,HW106\n')
    path.write_text(path.read_text().replace("      name: New Job\n",
                                             "      name: New Job\n" + tags))

    # When it is linted
    ids = [rule for _, _, rule, _ in findings(run_lint(path).output)]

    # Then those findings are gone, and the others stay (HW106 of the job's name too)
    assert ids == ["HW106", "HW102", "HW105", "HW104", "HW103", "HW203"]


def test_warnings_pass_unless_strict(job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the poor job without its one error (HW104 disabled)
    path = job_file("poor_job.yml")
    path.write_text(path.read_text().replace(
        "      name: New Job\n",
        '      name: New Job\n      tags:\n        headwater-lint-disable: HW104\n'))

    # Then warnings alone exit 0, and 1 with --strict
    assert run_lint(path).exit_code == 0
    strict = run_lint(path, "--strict")
    assert strict.exit_code == 1
    assert strict.output.splitlines()[-1] == "9 findings: 8 warnings, 1 info"


def test_long_code_and_a_custom_naming_convention(
        job_file: Callable[[str], Path], run_lint: Invoke, tmp_path: Path) -> None:
    # Given the good job whose ingestion script has 5 non-blank lines
    path = job_file("good_job.yml")
    (tmp_path / "src" / "ingest.py").write_text("a = 1\n\nb = 2\nc = 3\nd = 4\ne = 5\n")

    # When linted with at most 4 lines per task and a convention that wants `ingest_` first
    result = run_lint(path, "--max-lines", "4", "--naming", r"ingest_\w+")

    # Then the script's size and the other task's key are reported
    assert [(rule, message) for _, _, rule, message in findings(result.output)] == [
        ("HW108", "task 'ingest_bronze_orders' runs 5 lines of code (src/ingest.py), over 4"),
        ("HW107", "task key 'transform_silver_orders' does not match the naming convention "
                  "'ingest_\\\\w+'"),
    ]


def test_linting_the_prod_target_checks_its_schedule(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the good job with its schedule paused in prod
    path = job_file("good_job.yml")
    path.write_text(path.read_text().replace(
        "  prod:\n    mode: production\n",
        "  prod:\n    mode: production\n    resources:\n      jobs:\n        orders_daily:\n"
        "          schedule:\n            pause_status: PAUSED\n"))

    result = run_lint(path, "--target", "prod")

    assert "HW203 job 'orders_daily' is paused in target 'prod'" in result.output


def test_list_rules_prints_every_rule() -> None:
    table = rule_table()
    assert all(rule_id in table for rule_id in RULES)


def test_bad_naming_regex_is_a_usage_error(job_file: Callable[[str], Path]) -> None:
    result = CliRunner().invoke(lint, [str(job_file("good_job.yml")), "--naming", "("])
    assert result.exit_code == 2
    assert "--naming" in result.output


@pytest.mark.parametrize(("text", "markers"), [
    ("/Users/bob/dev/orders.csv", ["/Users/", "dev"]),
    ("dbfs:/mnt/raw", ["dbfs:/"]),
    ("C:\\data\\in.csv", ["C:\\"]),
    ("sales_prod.orders", ["prod"]),
    ("/home/alice/x", ["/home/"]),
    ("products", []),
    ("echo hi >/dev/null 2>/dev/stderr", []),
    ("${var.root}/devices/{{job.parameters.env}}", []),
    ("/data/orders_dev.csv", ["dev"]),
    ("${var.root}/dev/x", ["dev"]),
    ("develop", []),
])
def test_hard_coded_markers(text: str, markers: list[str]) -> None:
    assert hard_coded_markers(text) == markers


@pytest.mark.parametrize(("name", "meaningless"), [
    ("task_1", True), ("Untitled", True), ("New Job", True), ("Task", True),
    ("new_task_2", True), ("t1", True), ("New Job Apr 12, 2024", True), ("my_job", True),
    ("ingest_bronze_customers", False), ("report", False), ("etl", False),
])
def test_meaningless_names(name: str, meaningless: bool) -> None:
    assert is_meaningless(name) is meaningless


@pytest.mark.parametrize(("settings", "rule", "where", "message"), [
    ("      max_concurrent_runs: 0\n", "HW204", "0\n      description",
     "max_concurrent_runs 0: every run of it is skipped"),
    ("      max_concurrent_runs: 2\n      queue: {enabled: false}\n", "HW205", "false",
     "queue off: a run started while 2 runs of it are active is skipped"),
])
def test_concurrency_that_skips_runs_is_reported_where_it_is_set(
        job_file: Callable[[str], Path], run_lint: Invoke, settings: str, rule: str,
        where: str, message: str) -> None:
    path = job_file("good_job.yml")
    anchor = "      name: orders_daily\n"
    path.write_text(path.read_text().replace(anchor, anchor + settings, 1))

    # (in development mode, a bundle's max_concurrent_runs of 0 becomes 4, as the CLI does)
    [(line, column, found, text)] = findings(run_lint(path, "--target", "prod").output)[:1]

    assert found == rule and message in text
    assert (line, column) == place(path.read_text(), where)


def with_cleanup(text: str) -> str:
    """The good job with a cleanup task that always runs last (`run_if: ALL_DONE`)."""
    cleanup = ("\n        - task_key: cleanup_bronze_landing\n"
               "          depends_on: [ { task_key: transform_silver_orders } ]\n"
               "          run_if: ALL_DONE\n"
               "          shell_command_task: { command: 'true' }\n"
               "          max_retries: 1\n          timeout_seconds: 60\n")
    return text.replace("\ntargets:", cleanup + "\ntargets:", 1)


def test_a_failure_nobody_hears_of_is_found_by_simulating_it(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the good job with a cleanup that always runs after the silver task: a leaf that
    # succeeds whatever happened before it, so a failure upstream ends the run
    # SUCCESS_WITH_FAILURES, which sends no on_failure alert
    path = job_file("good_job.yml")
    text = with_cleanup(path.read_text())
    path.write_text(text)

    # When it is linted
    result = run_lint(path, "--target", "prod")

    # Then both upstream tasks are reported where they start, and the cleanup is not (its
    # own failure fails the run, and the job's on_failure alert goes out)
    assert findings(result.output) == [
        (*place(text, "task_key: ingest_bronze_orders"), "HW109",
         "task 'ingest_bronze_orders' can fail without anyone hearing of it: the run ends "
         "SUCCESS_WITH_FAILURES, no task runs because of it and no on_failure alert is sent"),
        (*place(text, "task_key: transform_silver_orders"), "HW109",
         "task 'transform_silver_orders' can fail without anyone hearing of it: the run ends "
         "SUCCESS_WITH_FAILURES, no task runs because of it and no on_failure alert is sent"),
    ]
    assert result.exit_code == 0  # warnings


def test_a_task_that_alerts_on_its_own_failure_is_heard(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the same job, where the ingestion task alerts on its own failure
    path = job_file("good_job.yml")
    own = ("          timeout_seconds: 600\n"
           "          email_notifications: { on_failure: [ data@example.com ] }\n")
    path.write_text(with_cleanup(path.read_text()).replace("          timeout_seconds: 600\n",
                                                           own, 1))

    result = run_lint(path, "--target", "prod")

    assert [f[3].split(" can fail")[0] for f in findings(result.output)] == [
        "task 'transform_silver_orders'"]


def test_a_job_over_the_simulation_limit_says_hw109_was_not_checked(
        job_file: Callable[[str], Path], run_lint: Invoke) -> None:
    # Given the job whose two upstream failures nobody hears of, with its three tasks
    path = job_file("good_job.yml")
    text = with_cleanup(path.read_text())
    path.write_text(text)

    # When it is linted with a limit below its size, then at it
    below = run_lint(path, "--target", "prod", "--max-simulated", "2")
    at = run_lint(path, "--target", "prod", "--max-simulated", "3")

    # Then below the limit, one note where the job starts instead of the sweep's findings;
    # at the limit, the sweep's two findings and no note
    assert findings(below.output) == [
        (*place(text, "orders_daily:"), "HW110",
         "job 'orders_daily' has 3 tasks, over the 2 for which HW109 simulates each one failing: "
         "HW109 was not checked")]
    assert [f[2] for f in findings(at.output)] == ["HW109", "HW109"]
    assert below.exit_code == at.exit_code == 0


@pytest.mark.parametrize(("key", "off_convention"), [
    ("extract", False), ("load_orders", False), ("transform_silver_orders", False),
    ("Extract", True), ("load-orders", True), ("2nd_pass", True),
])
def test_the_default_naming_convention_is_snake_case(key: str, off_convention: bool) -> None:
    # A plain `extract` is a fine key (issue 16): HW107 flagged it under <verb>_<layer>_<entity>
    assert (DEFAULT_NAMING.fullmatch(key) is None) == off_convention


def test_a_for_each_without_retries_is_told_to_retry_its_nested_task(
        tmp_path: Path, run_lint: Invoke) -> None:
    # Given a for-each whose nested task has no retries (the for-each itself may have none)
    text = ("resources:\n  jobs:\n    loop_job:\n      name: Loop job\n      tasks:\n"
            "        - task_key: each_day\n          for_each_task:\n"
            "            inputs: '[1, 2]'\n            task:\n"
            "              task_key: each_day_iteration\n"
            "              shell_command_task: {command: 'echo \"$DAY\"', env: {DAY: '{{input}}'}}\n")
    path = tmp_path / "loop.yml"
    path.write_text(text)

    # When it is linted, and again with retries on the nested task
    before = [f for f in findings(run_lint(path).output) if f[2] == "HW103"]
    path.write_text(text.replace("              shell_command_task:",
                                 "              max_retries: 2\n              shell_command_task:"))
    after = [f for f in findings(run_lint(path).output) if f[2] == "HW103"]

    # Then the finding points at the nested task, where max_retries is allowed, and is gone
    # once the retries are there
    assert before == [(*place(text, "task_key: each_day_iteration"), "HW103",
                       "task 'each_day' (its nested task, for_each_task.task, where retries "
                       "go) has no retries")]
    assert after == []
