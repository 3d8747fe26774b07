"""Dynamic value references: every form with its exact output, literal pass-through, single-pass
substitution and the errors that name the reference.

The fixed instants sit at the 2026 Europe/Amsterdam daylight-saving changes (spring forward at
2026-03-29T01:00Z, fall back at 2026-10-25T01:00Z): the formatting is UTC, so it is unaffected.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from headwater.core.refs import (
    TIME_ARGUMENTS,
    RefContext,
    Reference,
    ReferenceError,
    TaskFacts,
    find_references,
    malformed_references,
    resolve,
)
from headwater.core.refs_time import format_time
from headwater.errors import HeadwaterError

# Sunday, 30 minutes after the spring-forward change (03:30 CEST in Amsterdam).
START = datetime(2026, 3, 29, 1, 30, 0, 123_000, tzinfo=UTC)
# Sunday, one millisecond before the fall-back change (02:59:59.999 CEST in Amsterdam).
TRIGGER = datetime(2026, 10, 25, 0, 59, 59, 999_000, tzinfo=UTC)

CONTEXT = RefContext(
    job_id=42,
    job_name="nightly etl",
    run_id=1001,
    repair_count=2,
    start_time=START,
    trigger_type="PERIODIC",
    trigger_time=TRIGGER,
    file_arrival_location="/volumes/landing/in",
    parameters={"env": "prod", "run-date": "2026-03-28", "a b": "spaced", "nested": "{{job.id}}"},
    tasks={
        "ingest": TaskFacts(
            run_id=2001,
            result_state="SUCCESS",
            error_code=None,
            execution_count=1,
            values={
                "rows": "42",
                "ratio": "0.5",
                "ok": "true",
                "none": "null",
                "name": '"orders"',
                "items": '["a", "b"]',
                "meta": '{"k": {"v": 1}, "é": "ü"}',
                "tricky": '"{{job.id}}"',
                "my-key": '"dashed"',
            },
        ),
        "flaky": TaskFacts(2002, "UPSTREAM_FAILED", "RUN_EXECUTION_ERROR", 3, {}),
        "running": TaskFacts(2003, None, None, 1, {}),
    },
    task_key="report",
    task_run_id=3001,
    execution_count=3,
    retry_count=2,
    input='{"table": "orders", "size": 3, "owner": {"team": "data"}}',
    workspace_id="ws-1",
    workspace_url="https://headwater.example",
    notebook_path="/notebooks/report.py",
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # job
        ("{{job.id}}", "42"),
        ("{{job.name}}", "nightly etl"),
        ("{{job.run_id}}", "1001"),
        ("{{job.repair_count}}", "2"),
        ("{{job.trigger.type}}", "periodic"),
        ("{{job.trigger.file_arrival.location}}", "/volumes/landing/in"),
        ("{{job.parameters.env}}", "prod"),
        ("{{job.parameters.`run-date`}}", "2026-03-28"),
        ("{{job.parameters.`a b`}}", "spaced"),
        ("{{job.`parameters`.env}}", "prod"),
        # the current task
        ("{{task.name}}", "report"),
        ("{{task.run_id}}", "3001"),
        ("{{task.execution_count}}", "3"),
        ("{{task.notebook_path}}", "/notebooks/report.py"),
        # other tasks
        ("{{tasks.ingest.run_id}}", "2001"),
        ("{{tasks.ingest.result_state}}", "success"),
        ("{{tasks.flaky.result_state}}", "upstream_failed"),
        ("{{tasks.ingest.error_code}}", ""),
        ("{{tasks.flaky.error_code}}", "RUN_EXECUTION_ERROR"),
        ("{{tasks.ingest.execution_count}}", "1"),
        ("{{tasks.flaky.execution_count}}", "3"),
        ("{{tasks.`ingest`.values.`my-key`}}", "dashed"),
        # task values: strings bare, everything else its compact JSON text
        ("{{tasks.ingest.values.rows}}", "42"),
        ("{{tasks.ingest.values.ratio}}", "0.5"),
        ("{{tasks.ingest.values.ok}}", "true"),
        ("{{tasks.ingest.values.none}}", "null"),
        ("{{tasks.ingest.values.name}}", "orders"),
        ("{{tasks.ingest.values.items}}", '["a","b"]'),
        ("{{tasks.ingest.values.meta}}", '{"k":{"v":1},"é":"ü"}'),
        # for-each input
        ("{{input}}", '{"table":"orders","size":3,"owner":{"team":"data"}}'),
        ("{{input.table}}", "orders"),
        ("{{input.size}}", "3"),
        ("{{input.owner}}", '{"team":"data"}'),
        ("{{input.owner.team}}", "data"),
        # workspace
        ("{{workspace.id}}", "ws-1"),
        ("{{workspace.url}}", "https://headwater.example"),
        # deprecated
        ("{{job_id}}", "42"),
        ("{{run_id}}", "3001"),  # the TASK run id
        ("{{parent_run_id}}", "1001"),  # the job run id
        ("{{start_date}}", "2026-03-29"),
        ("{{start_time}}", "1774747800123"),
        ("{{task_retry_count}}", "2"),
        ("{{task_key}}", "report"),
        # around text, several per text, whitespace inside the braces
        ("run-{{job.run_id}}/{{ task.name }}", "run-1001/report"),
        ("{{  job.id\t}}{{job.id}}", "4242"),
        ("", ""),
    ],
)
def test_each_reference_resolves_to_its_text(text: str, expected: str) -> None:
    assert resolve(text, CONTEXT) == expected


TABLES = {"columns": ["table", "rows", "loaded"],
          "rows": [["orders", 3, True], ["customers", None, False]], "truncated": False}


def sql_run(output: dict[str, Any] | None) -> RefContext:
    """A context where task `query`, a SQL task, returned `output`."""
    query = TaskFacts(run_id=3001, result_state="SUCCESS", error_code=None, execution_count=1,
                      values={}, sql_output=output, is_sql=True)
    return replace(CONTEXT, tasks={**CONTEXT.tasks, "query": query})


def test_a_sql_tasks_output_reads_as_rows_a_first_row_or_one_value() -> None:
    context = sql_run(TABLES)
    assert resolve("{{tasks.query.output.rows}}", context) == (
        '[{"table":"orders","rows":3,"loaded":true},'
        '{"table":"customers","rows":null,"loaded":false}]')
    assert resolve("{{tasks.query.output.first_row}}", context) == (
        '{"table":"orders","rows":3,"loaded":true}')
    assert resolve("{{tasks.query.output.first_row.table}}", context) == "orders"
    assert resolve("{{tasks.query.output.first_row.rows}}", context) == "3"


TABLE_RUN = replace(CONTEXT, trigger_type="TABLE", table_update={
    "updated_tables": ["bronze.orders", "main.customers"],
    "tables": {"bronze.orders": {"version": 7, "commit_timestamp": TRIGGER.isoformat()},
               "main.customers": {"version": 2}}})


def test_a_table_update_run_reads_what_changed() -> None:
    assert resolve("{{job.trigger.table_update.updated_tables}}", TABLE_RUN) == (
        '["bronze.orders","main.customers"]')
    # a catalog, quotes and case are as the commits record names: schema.table, lower case
    for name in ("bronze.orders", "warehouse.bronze.orders", "`Warehouse.Bronze.Orders`"):
        assert resolve(f"{{{{job.trigger.table_update.{name}.version}}}}", TABLE_RUN) == "7"
    assert resolve("{{job.trigger.table_update.main.bronze.orders.commit_timestamp.iso_datetime}}",
                   TABLE_RUN) == "2026-10-25T00:59:59.999Z"
    assert resolve("{{job.trigger.table_update.customers.version}}", TABLE_RUN) == "2"


@pytest.mark.parametrize(
    ("argument", "start_time", "trigger_time"),
    [
        ("iso_weekday", "7", "7"),
        ("is_weekday", "false", "false"),
        ("iso_date", "2026-03-29", "2026-10-25"),
        ("iso_datetime", "2026-03-29T01:30:00.123Z", "2026-10-25T00:59:59.999Z"),
        ("year", "2026", "2026"),
        ("month", "3", "10"),
        ("day", "29", "25"),
        ("hour", "1", "0"),
        ("minute", "30", "59"),
        ("second", "0", "59"),
        ("timestamp_ms", "1774747800123", "1792889999999"),
    ],
)
def test_time_arguments_format_in_utc(argument: str, start_time: str, trigger_time: str) -> None:
    assert resolve(f"{{{{job.start_time.{argument}}}}}", CONTEXT) == start_time
    assert resolve(f"{{{{job.trigger.time.{argument}}}}}", CONTEXT) == trigger_time
    backfill = replace(CONTEXT, backfill_time=TRIGGER)  # a backfill run knows its time
    assert resolve(f"{{{{backfill.{argument}}}}}", backfill) == trigger_time


def test_the_time_argument_table_is_complete() -> None:
    assert list(TIME_ARGUMENTS) == [
        "iso_weekday", "is_weekday", "iso_date", "iso_datetime", "year", "month", "day",
        "hour", "minute", "second", "timestamp_ms",
    ]


def test_a_weekday_and_padding() -> None:
    # Given a Monday morning with single-digit components
    monday = datetime(2026, 1, 5, 7, 4, 9, tzinfo=UTC)
    # Then components are unpadded numbers and iso_* forms are zero-padded, with 3 ms digits
    assert [format_time(monday, name) for name in TIME_ARGUMENTS] == [
        "1", "true", "2026-01-05", "2026-01-05T07:04:09.000Z", "2026", "1", "5", "7", "4", "9",
        "1767596649000",
    ]


def test_an_instant_in_another_zone_is_formatted_in_utc() -> None:
    # 03:30 in Amsterdam, right after the clocks went forward, is 01:30 UTC
    amsterdam = datetime(2026, 3, 29, 3, 30, 0, 123_000, tzinfo=ZoneInfo("Europe/Amsterdam"))
    context = replace(CONTEXT, start_time=amsterdam)
    assert resolve("{{job.start_time.iso_datetime}} {{job.start_time.hour}}", context) == (
        "2026-03-29T01:30:00.123Z 1"
    )


def test_a_naive_instant_is_taken_as_utc() -> None:
    assert format_time(datetime(1970, 1, 1, 0, 0, 1), "timestamp_ms") == "1000"


def test_a_string_element_resolves_bare_and_other_elements_as_json() -> None:
    assert resolve("{{input}}", replace(CONTEXT, input='"orders"')) == "orders"
    assert resolve("{{input}}", replace(CONTEXT, input="7")) == "7"
    assert resolve("{{input}}", replace(CONTEXT, input="[1, 2]")) == "[1,2]"


@pytest.mark.parametrize(
    "text",
    [
        # outside the known namespaces
        "{{foo}}",
        "{{ my.value }}",
        "{{Job.id}}",
        "{{jobs.id}}",
        "{{params.env}}",
        # syntax errors: braces, unquoted special characters, empty
        "{{job.id}",
        "{job.id}}",
        "{ {job.id}}",
        "{{job.parameters.run-date}}",
        "{{job..id}}",
        "{{job.id.}}",
        "{{}}",
        "{{ }}",
        "{{job.parameters.`unclosed}}",
        "{{ job id }}",
        "${var.env}",
    ],
)
def test_unknown_namespaces_and_syntax_errors_stay_literal(text: str) -> None:
    assert resolve(text, CONTEXT) == text


def test_literal_text_sits_beside_resolved_references() -> None:
    assert resolve("{{foo}} {{job.id}} {{job.id}", CONTEXT) == "{{foo}} 42 {{job.id}"
    assert resolve("{{{job.id}}}", CONTEXT) == "{42}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{job.parameters.nested}}", "{{job.id}}"),
        ("{{tasks.ingest.values.tricky}}", "{{job.id}}"),
        ("{{job.parameters.nested}}-{{job.id}}", "{{job.id}}-42"),
    ],
)
def test_substitution_is_single_pass(text: str, expected: str) -> None:
    # A value that itself holds a reference is inserted as it is, never expanded again
    assert resolve(text, CONTEXT) == expected


def test_an_input_holding_a_reference_is_not_expanded() -> None:
    assert resolve("{{input.q}}", replace(CONTEXT, input='{"q": "{{job.id}}"}')) == "{{job.id}}"


NO_TASK = "there is no current task here: job parameter defaults are resolved before any task"
OUTSIDE_TASK = replace(
    CONTEXT, task_key=None, task_run_id=None, input=None, notebook_path=None, execution_count=0
)


@pytest.mark.parametrize(
    ("text", "context", "message"),
    [
        ("{{job.naem}}", CONTEXT, "{{job.naem}}: unknown reference (did you mean {{job.name}}?)"),
        ("{{job.notebook_url}}", CONTEXT, "{{job.notebook_url}}: unknown reference"),
        ("{{job.xyz}}", CONTEXT, "{{job.xyz}}: unknown reference"),
        ("{{job}}", CONTEXT, "{{job}}: incomplete reference; complete it as one of "
         "{{job.id}}, {{job.name}}, {{job.run_id}}, {{job.repair_count}}, "
         "{{job.start_time.<arg>}}, {{job.trigger.type}}, {{job.trigger.time.<arg>}}, "
         "{{job.trigger.file_arrival.location}}, "
         "{{job.trigger.table_update.updated_tables}}, {{job.parameters.<name>}}"),
        ("{{job.start_time}}", CONTEXT,
         "{{job.start_time}}: incomplete reference; complete it as one of {{job.start_time.<arg>}}"),
        ("{{job.start_time.iso_dat}}", CONTEXT,
         "{{job.start_time.iso_dat}}: unknown time argument 'iso_dat' (did you mean 'iso_date'?); "
         "use one of iso_weekday, is_weekday, iso_date, iso_datetime, year, month, day, hour, "
         "minute, second, timestamp_ms"),
        ("{{job.parameters.envv}}", CONTEXT,
         "{{job.parameters.envv}}: no job parameter 'envv' (did you mean 'env'?)"),
        ("{{job.parameters.`zz-top`}}", CONTEXT,
         "{{job.parameters.`zz-top`}}: no job parameter 'zz-top'"),
        ("{{job.trigger.time.iso_date}}", replace(CONTEXT, trigger_type="ONE_TIME", trigger_time=None),
         "{{job.trigger.time.iso_date}}: this run has no trigger time (trigger: one_time); only "
         "runs fired by a schedule or a periodic trigger have one; use {{job.start_time.<arg>}} "
         "instead"),
        ("{{job.trigger.file_arrival.location}}", replace(CONTEXT, file_arrival_location=None),
         "{{job.trigger.file_arrival.location}}: this run was not started by a file arrival"),
        ("{{job.trigger.table_update.updated_tables}}", CONTEXT,
         "{{job.trigger.table_update.updated_tables}}: this run was not started by a table "
         "update"),
        ("{{job.trigger.table_update.main.silver.orders.version}}", TABLE_RUN,
         "{{job.trigger.table_update.main.silver.orders.version}}: table 'silver.orders' is not "
         "among the tables whose update started this run (bronze.orders, main.customers)"),
        ("{{job.trigger.table_update.customers.commit_timestamp.iso_date}}", TABLE_RUN,
         "{{job.trigger.table_update.customers.commit_timestamp.iso_date}}: the commit log has "
         "no time for table 'main.customers'"),
        ("{{job.trigger.table_update.bronze.orders.commit_timestamp.iso_dat}}", TABLE_RUN,
         "{{job.trigger.table_update.bronze.orders.commit_timestamp.iso_dat}}: unknown time "
         "argument 'iso_dat' (did you mean 'iso_date'?); use one of iso_weekday, is_weekday, "
         "iso_date, iso_datetime, year, month, day, hour, minute, second, timestamp_ms"),
        ("{{job.trigger.table_update.orders}}", TABLE_RUN,
         "{{job.trigger.table_update.orders}}: unknown reference; use "
         "{{job.trigger.table_update.updated_tables}}, "
         "{{job.trigger.table_update.<table>.version}} or "
         "{{job.trigger.table_update.<table>.commit_timestamp.<arg>}}"),
        ("{{tasks.ingest.values.row}}", CONTEXT,
         "{{tasks.ingest.values.row}}: task 'ingest' has not set a value named 'row' "
         "(did you mean 'rows'?)"),
        ("{{tasks.ingest.values.count}}", CONTEXT,
         "{{tasks.ingest.values.count}}: task 'ingest' has not set a value named 'count'"),
        ("{{tasks.ingets.run_id}}", CONTEXT,
         "{{tasks.ingets.run_id}}: task 'ingets' has not run in this job run (did you mean "
         "'ingest'?); a task can read only tasks it depends on (depends_on)"),
        ("{{tasks.running.result_state}}", CONTEXT,
         "{{tasks.running.result_state}}: task 'running' has not finished"),
        ("{{tasks.ingest.reslt_state}}", CONTEXT,
         "{{tasks.ingest.reslt_state}}: unknown reference (did you mean "
         "{{tasks.ingest.result_state}}?)"),
        ("{{tasks.ingest}}", CONTEXT,
         "{{tasks.ingest}}: incomplete reference; complete it as one of "
         "{{tasks.ingest.run_id}}, {{tasks.ingest.result_state}}, {{tasks.ingest.error_code}}, "
         "{{tasks.ingest.execution_count}}, {{tasks.ingest.values.<name>}}, "
         "{{tasks.ingest.output.rows}}, {{tasks.ingest.output.first_row}}, "
         "{{tasks.ingest.output.first_row.<name>}}"),
        ("{{tasks.ingest.output.rows}}", CONTEXT,
         "{{tasks.ingest.output.rows}}: task 'ingest' is not a sql_task: only a SQL task has an "
         "output; have the task set a task value and read {{tasks.<key>.values.<name>}}"),
        ("{{tasks.query.output.rows}}", sql_run(None),
         "{{tasks.query.output.rows}}: task 'query' left no output: it has not succeeded, or "
         "its statement returned no result set"),
        ("{{tasks.query.output.first_row}}", sql_run({"columns": ["n"], "rows": []}),
         "{{tasks.query.output.first_row}}: the query of task 'query' returned no rows, so it "
         "has no first_row"),
        ("{{tasks.query.output.first_row.tabel}}", sql_run(TABLES),
         "{{tasks.query.output.first_row.tabel}}: the query of task 'query' has no column "
         "'tabel' (did you mean 'table'?); its columns: table, rows, loaded"),
        ("{{tasks.query.output.last_row}}", sql_run(TABLES),
         "{{tasks.query.output.last_row}}: unknown reference (did you mean "
         "{{tasks.query.output.first_row}}?)"),
        ("{{task.nmae}}", CONTEXT, "{{task.nmae}}: unknown reference (did you mean {{task.name}}?)"),
        ("{{task.notebook_path}}", replace(CONTEXT, notebook_path=None),
         "{{task.notebook_path}}: task 'report' is not a notebook_task"),
        ("{{task.name}}", OUTSIDE_TASK, f"{{{{task.name}}}}: {NO_TASK}"),
        ("{{run_id}}", OUTSIDE_TASK, f"{{{{run_id}}}}: {NO_TASK}"),
        ("{{task_key}}", OUTSIDE_TASK, f"{{{{task_key}}}}: {NO_TASK}"),
        ("{{task_retry_count}}", OUTSIDE_TASK, f"{{{{task_retry_count}}}}: {NO_TASK}"),
        ("{{input}}", OUTSIDE_TASK,
         "{{input}}: only the nested task of a for_each_task has an input"),
        ("{{input.tabel}}", CONTEXT,
         "{{input.tabel}}: the element has no field 'tabel' (did you mean 'table'?)"),
        ("{{input.owner.name}}", CONTEXT, "{{input.owner.name}}: input.owner has no field 'name'"),
        ("{{input.size.unit}}", CONTEXT,
         "{{input.size.unit}}: input.size is not a JSON object, so it has no field 'unit': 3"),
        ("{{input.x}}", replace(CONTEXT, input='"orders"'),
         "{{input.x}}: the element is not a JSON object, so it has no field 'x': orders"),
        ("{{workspace.name}}", CONTEXT, "{{workspace.name}}: unknown reference"),
        ("{{workspace.uri}}", CONTEXT,
         "{{workspace.uri}}: unknown reference (did you mean {{workspace.url}}?)"),
        ("{{backfill.iso_date}}", CONTEXT,
         "{{backfill.iso_date}}: this run is not part of a backfill; start one with `headwater "
         "jobs backfill`, or use {{job.start_time.<arg>}}"),
        ("{{backfill.iso_dat}}", replace(CONTEXT, backfill_time=TRIGGER),
         "{{backfill.iso_dat}}: unknown time argument 'iso_dat' (did you mean 'iso_date'?); use "
         "one of iso_weekday, is_weekday, iso_date, iso_datetime, year, month, day, hour, "
         "minute, second, timestamp_ms"),
        ("{{job_id.x}}", CONTEXT, "{{job_id.x}}: unknown reference"),
        ("{{job.trigger.tpye}}", CONTEXT,
         "{{job.trigger.tpye}}: unknown reference (did you mean {{job.trigger.type}}?)"),
        ("a {{ job.naem }} b", CONTEXT,
         "{{ job.naem }}: unknown reference (did you mean {{job.name}}?)"),
    ],
)
def test_an_unresolvable_reference_raises_naming_it(
    text: str, context: RefContext, message: str
) -> None:
    with pytest.raises(ReferenceError) as raised:
        resolve(text, context)
    assert str(raised.value) == message
    assert raised.value.reference in text
    assert isinstance(raised.value, HeadwaterError)


def test_the_first_bad_reference_wins() -> None:
    with pytest.raises(ReferenceError, match=r"^\{\{job\.naem\}\}"):
        resolve("{{job.id}} {{job.naem}} {{tasks.nope.run_id}}", CONTEXT)


def test_find_references_parses_namespaces_parts_and_backticks() -> None:
    text = "x {{ job.parameters.`run date` }} {{tasks.t.values.v}} {{foo}} {{job.id}"
    assert find_references(text) == [
        Reference("{{ job.parameters.`run date` }}", "job", ("parameters", "run date"), 2, 33),
        Reference("{{tasks.t.values.v}}", "tasks", ("t", "values", "v"), 34, 54),
        Reference("{{foo}}", "foo", (), 55, 62),
    ]
    first, _, unknown = find_references(text)
    assert first.name == "{{job.parameters.`run date`}}"
    assert first.is_known
    assert not unknown.is_known


def test_malformed_references_are_those_opening_a_known_namespace() -> None:
    text = "{{job.id} {{job.parameters.run-date}} {{foo.bar} {{task.name\n{{job.id}}"
    assert malformed_references(text) == [
        "{{job.id}",
        "{{job.parameters.run-date}}",
        "{{task.name",
    ]


@given(st.text().filter(lambda text: "{{" not in text))
def test_text_without_double_braces_is_unchanged(text: str) -> None:
    assert resolve(text, CONTEXT) == text


@given(st.text(alphabet=st.characters(blacklist_characters="{}`"), min_size=1))
def test_unknown_namespaces_are_always_literal(name: str) -> None:
    text = "{{zz_" + name + "}}"
    assert resolve(text, CONTEXT) == text
