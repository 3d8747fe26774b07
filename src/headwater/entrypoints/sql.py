"""The child side of a `sql_task` (and of a notebook's `%sql` cells): run SQL with bound
parameters against a warehouse, write the first rows to result.json as `sql_output`.

    python -m headwater.entrypoints.sql <parameters json> (--file P | --query Q)

The warehouse is `HEADWATER_WAREHOUSE_URL`, its password `HEADWATER_WAREHOUSE_PASSWORD`
(`warehouse_url`): both from the environment, so neither is in argv.

Parameters are `:name` markers, or `{{name}}` as the SQL files of Databricks' bundle templates
write them (`USE CATALOG {{catalog}}`), bound by the database driver, never spliced into the
text: a value such as `1; DROP TABLE t; --` stays one string (Databricks binds a `{{name}}`
as a string too). The text is cut into statements on `;` and markers are found by a small
scanner that skips strings, quoted identifiers and comments, and does not take `::type` casts
or `'key':value` for markers (a `:` right after an identifier, a quote, a bracket or another
`:` is not a marker).

Warehouses: `duckdb:///<path>` (the embedded default) runs on the `duckdb` package, under an
exclusive lock file beside the database, because DuckDB lets one process write at a time; any
other URL runs through SQLAlchemy (`text()` with bound parameters).

Each statement that writes a table (INSERT, UPDATE, DELETE, MERGE, CREATE TABLE ... AS, ...)
adds the rows it affected, as the database reports them, to the attempt's metric
`sql_rows_affected`: what a SQL task (or a notebook's SQL) processed, without a line of code.

Each statement that writes a table of a DuckDB file (INSERT, UPDATE, DELETE, MERGE, COPY ...
FROM, CREATE/ALTER/DROP/TRUNCATE TABLE) is logged, once it succeeded, as one JSON line in
`<database>.commits.jsonl`: what table-update triggers watch (`headwater.engine.observers`).
Temporary tables and statements whose target cannot be read are not logged.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headwater.entrypoints.filelock import locked
from headwater.runtime import channel
from headwater.runtime.sql_references import REFERENCE_IN_SQL, unfilled_reference

__all__ = ["MAX_OUTPUT_BYTES", "MAX_OUTPUT_ROWS", "SqlProblem", "Table", "bind",
           "commit_log", "log_commit", "log_table", "run_script", "statements", "table_output",
           "warehouse_url", "written_table"]

MAX_OUTPUT_ROWS = 1000
MAX_OUTPUT_BYTES = 48 * 1024
DUCKDB_PREFIX = "duckdb:///"
# What the runner (headwater.runners.sql) tells the child, in its environment.
NOTICE_VARIABLE = "HEADWATER_WAREHOUSE_NOTICE"
URL_VARIABLE = "HEADWATER_WAREHOUSE_URL"
COMMITS_VARIABLE = "HEADWATER_WAREHOUSE_COMMITS"
COMMITS_SUFFIX = ".commits.jsonl"  # as engine/observers.py reads them
PASSWORD_VARIABLE = "HEADWATER_WAREHOUSE_PASSWORD"  # noqa: S105 (a name, not the value)
DEFAULT_WAREHOUSE = "duckdb:///.headwater/warehouse.duckdb"  # relative to the job directory

_TOKEN = re.compile(r"""
    (?P<text>'(?:[^'\\]|\\.|'')*'?)          # a string literal
  | (?P<ident>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?)  # a quoted identifier
  | (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))   # a comment
  | (?P<marker>:[A-Za-z_][A-Za-z0-9_]*)      # a parameter marker (if not after NOT_BEFORE)
  | (?P<braces>\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\})  # one as Databricks SQL files write it
  | (?P<reference>{REFERENCE})  # {{job.parameters.x}}: nothing fills it in here
  | (?P<end>;)
  | (?P<colon>:)
  | (?P<other>[^'"`:;/{-]+|[/{-])
""".replace("{REFERENCE}", REFERENCE_IN_SQL.pattern), re.DOTALL | re.VERBOSE)
_LINE = re.compile(r"\bLINE (\d+):")  # where PostgreSQL and DuckDB say an error is
_NOT_BEFORE = re.compile(r"[A-Za-z0-9_:'\"`)\]}]$")
_NAME = r'((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+)){0,2})'
_WRITES = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO|TRUNCATE"
    r"(?:\s+TABLE)?|COPY|ALTER\s+TABLE|DROP\s+TABLE(?:\s+IF\s+EXISTS)?"
    r"|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?)\s+" + _NAME,
    re.IGNORECASE)
_SHOWN_ROWS = 50  # of a table a notebook prints
_COPY_TO = re.compile(r"^\s*COPY\s+.*\bTO\b", re.IGNORECASE | re.DOTALL)


class SqlProblem(Exception):  # a report for the task's result, not a bug
    """Raised when SQL cannot run: a marker without a value, a database error."""


@dataclass(frozen=True, slots=True)
class Table:
    """The rows a statement returned (at most `MAX_OUTPUT_ROWS` + 1 are fetched)."""

    columns: list[str]
    rows: list[Sequence[object]]

    def __str__(self) -> str:
        """As a notebook prints it (`print`, `display`, a `%sql` cell): a header line, then
        the first 50 rows, a cell ` | ` from the next."""
        lines = [" | ".join(self.columns)]
        lines += [" | ".join(str(value) for value in row) for row in self.rows[:_SHOWN_ROWS]]
        if len(self.rows) > _SHOWN_ROWS:
            lines.append(f"... ({len(self.rows)} rows or more)")
        return "\n".join(lines)


Token = tuple[str, str]


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        previous = tokens[-1][1] if tokens else ""
        if kind == "marker" and _NOT_BEFORE.search(previous):
            tokens += [("colon", ":"), ("other", match.group()[1:])]
            continue
        if kind == "braces":  # `{{ name }}` is `:name`
            tokens.append(("marker", ":" + match.group()[2:-2].strip()))
            continue
        tokens.append((kind, match.group()))
    return tokens


def statements(text: str) -> list[list[Token]]:
    """The statements of `text` as tokens, without the `;` and without empty statements."""
    return [statement for statement, _ in located_statements(text)]


def located_statements(text: str) -> list[tuple[list[Token], int]]:
    """`statements`, each with the line of `text` its own text starts on (just after the `;`
    before it): a database numbers the lines of what it was sent from there."""
    found: list[tuple[list[Token], int]] = [([], 1)]
    line = 1
    for token in _tokens(text):
        if token[0] == "end":
            found.append(([], line))
        else:
            found[-1][0].append(token)
        line += token[1].count("\n")
    return [(s, start) for s, start in found if any(
        k not in ("comment", "other") or v.strip() for k, v in s if k != "comment")]


def _failed(number: int, statement: list[Token], start: int, problem: str) -> SqlProblem:
    """A statement's failure, named by its number and the line it starts on (its first word's),
    and with the `LINE n` of the database's message counted in the script, not the statement
    (whose text starts on line `start`)."""
    first = start
    for kind, value in statement:  # down to its first word, past comments and blank lines
        if kind != "comment" and value.strip():
            first += value[:len(value) - len(value.lstrip())].count("\n")
            break
        first += value.count("\n")
    problem = _LINE.sub(lambda match: f"LINE {int(match[1]) + start - 1}:", problem)
    return SqlProblem(f"statement {number} (line {first}): {problem}")


def bind(statement: list[Token], marker: Callable[[str], str],
         colon: str = ":") -> tuple[str, list[str]]:
    """The statement's text with each marker rendered by `marker`, and the names used."""
    parts: list[str] = []
    names: list[str] = []
    for kind, value in statement:
        if kind == "marker":
            names.append(value[1:])
            parts.append(marker(value[1:]))
        else:
            parts.append(value.replace(":", colon) if kind != "other" else value)
    return "".join(parts), names


def _check_parameters(parsed: list[tuple[list[Token], int]],
                      parameters: Mapping[str, str]) -> None:
    for number, (statement, start) in enumerate(parsed, start=1):
        reference = next((v for k, v in statement if k == "reference"), None)
        if reference is not None:
            raise _failed(number, statement, start, unfilled_reference(reference))
        missing = [n for n in bind(statement, lambda n: n)[1] if n not in parameters]
        if missing:
            known = ", ".join(sorted(parameters)) or "none"
            raise _failed(number, statement, start, f"parameter :{missing[0]} has no value "
                                                     f"(parameters given: {known})")


def _run_duckdb(url: str, parsed: list[tuple[list[Token], int]], parameters: Mapping[str, str],
                session: bool = False) -> Table | None:
    try:  # the optional extra, imported only where DuckDB runs
        import duckdb
    except ImportError:
        raise SqlProblem("the embedded warehouse needs DuckDB: pip install 'headwater[sql]'"
                         ) from None

    location = url[len(DUCKDB_PREFIX):] or ":memory:"
    lock = contextlib.nullcontext() if location == ":memory:" else locked(Path(location))
    log = commit_log(url)
    if not session:
        with lock, duckdb.connect(location) as connection:
            return _execute(connection, log, parsed, parameters)
    connection = _session(location)
    if location == ":memory:":
        return _execute(connection, log, parsed, parameters)
    # The warehouse file is attached for this script only: other tasks may write it between
    # two cells, while the session's temporary views, tables and settings stay.
    catalog = '"' + Path(location).stem.replace('"', '""') + '"'
    with lock:
        connection.execute(f"ATTACH '{location.replace(chr(39), chr(39) * 2)}' AS {catalog}")
        try:
            connection.execute(f"USE {catalog}")
            return _execute(connection, log, parsed, parameters)
        finally:
            connection.execute("USE memory")
            connection.execute(f"DETACH {catalog}")


_SESSIONS: dict[str, Any] = {}


def _session(location: str) -> Any:
    """This process's DuckDB session for the warehouse at `location`: a notebook's SQL cells
    share it, as a Databricks notebook's cells share their Spark session (a temporary view one
    cell creates, the next reads). It lives in memory; the warehouse is attached per script."""
    import duckdb

    if location not in _SESSIONS:
        _SESSIONS[location] = duckdb.connect(":memory:")
    return _SESSIONS[location]


def _execute(connection: Any, log: Path | None, parsed: list[tuple[list[Token], int]],
             parameters: Mapping[str, str]) -> Table | None:
    import duckdb

    table = None
    for number, (statement, start) in enumerate(parsed, start=1):
        sql, names = bind(statement, lambda n: f"${n}")
        try:
            connection.execute(sql, {n: parameters[n] for n in names} if names else None)
            if connection.description is not None:
                columns = [d[0] for d in connection.description]
                table = Table(columns, list(connection.fetchmany(MAX_OUTPUT_ROWS + 1)))
        except duckdb.Error as error:
            raise _failed(number, statement, start, f"{type(error).__name__}: {error}") \
                from None
        if written_table(statement) is not None and table is not None \
                and table.columns == ["Count"] and table.rows:
            count_rows(table.rows[0][0])  # what DuckDB answers a write with
        if log is not None:
            log_commit(log, statement)
    return table


def written_table(statement: list[Token]) -> str | None:
    """The table a statement writes, as written in it (`bronze.orders`), or None."""
    text = "".join(value for kind, value in statement if kind != "comment")
    if _COPY_TO.match(text) or re.match(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP", text,
                                        re.IGNORECASE):
        return None
    found = _WRITES.match(text)
    return found.group(1).replace('"', "") if found else None


ROWS_METRIC = "sql_rows_affected"
_rows_affected = [0]  # this attempt's total so far: a notebook runs SQL many times


def count_rows(count: object) -> None:
    """Add the rows a write affected to the attempt's `sql_rows_affected` metric (recorded as
    the running total: the last value of a metric is the one kept). A count the database does
    not know (-1) adds nothing."""
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        _rows_affected[0] += count
        channel.append_line(channel.METRICS, {"name": ROWS_METRIC, "value": _rows_affected[0]})


def commit_log(url: str, environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the writes to the warehouse at `url` are logged: `HEADWATER_WAREHOUSE_COMMITS`
    (a configured warehouse's), else beside a DuckDB file; None for a database in memory."""
    if environ.get(COMMITS_VARIABLE):
        return Path(environ[COMMITS_VARIABLE])
    location = url[len(DUCKDB_PREFIX):] if url.startswith(DUCKDB_PREFIX) else ""
    if location and location != ":memory:":
        return Path(location + COMMITS_SUFFIX)
    return None


def log_commit(log: Path, statement: list[Token]) -> None:
    """Append the table a statement wrote to the commit log `log`."""
    table = written_table(statement)
    if table is not None:
        log_table(log, table)


def log_table(log: Path, table: str) -> None:
    """Append a commit of `table` (`schema.table`) to the commit log `log`: a SQL statement's,
    or a model dbt built (`headwater.entrypoints.dbt`). One short line in one write on an
    appending file, so that writers never interleave."""
    log.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"table": table, "at": time.time()}) + "\n"
    with log.open("a", encoding="utf-8") as file:
        file.write(line)


def _run_sqlalchemy(url: str, parsed: list[tuple[list[Token], int]],
                    parameters: Mapping[str, str]) -> Table | None:
    import sqlalchemy  # only for warehouses other than the embedded DuckDB

    table = None
    written: list[tuple[list[Token], int]] = []  # each write and the rows it affected
    engine = sqlalchemy.create_engine(url)
    try:
        with _connection_problems(sqlalchemy), engine.begin() as connection:
            for number, (statement, start) in enumerate(parsed, start=1):
                sql, names = bind(statement, lambda n: f":{n}", colon="\\:")
                try:
                    result = connection.execute(sqlalchemy.text(sql),
                                                {n: parameters[n] for n in names})
                except sqlalchemy.exc.DBAPIError as error:
                    raise _failed(number, statement, start, repr(error.orig)) from None
                except sqlalchemy.exc.SQLAlchemyError as error:
                    raise _failed(number, statement, start, str(error)) from None
                if result.returns_rows:
                    table = Table(list(result.keys()),
                                  [tuple(r) for r in result.fetchmany(MAX_OUTPUT_ROWS + 1)])
                elif written_table(statement) is not None:
                    written.append((statement, result.rowcount))
    finally:
        engine.dispose()
    log = commit_log(url)  # once the transaction committed: a trigger must see the rows,
    for statement, count in written:  # and rows rolled back were not processed
        count_rows(count)
        if log is not None:
            log_commit(log, statement)
    return table


@contextlib.contextmanager
def _connection_problems(sqlalchemy: Any) -> Iterator[None]:
    """A failure to connect or to commit as a `SqlProblem` with the database's own words (a
    statement's failure is one already, naming the statement)."""
    try:
        yield
    except sqlalchemy.exc.DBAPIError as error:
        raise SqlProblem(f"connecting to or committing on the warehouse: "
                         f"{type(error.orig).__name__}: {error.orig}".strip()) from None


def run_script(url: str, text: str, parameters: Mapping[str, str],
               session: bool = False) -> Table | None:
    """Run every statement of `text`; the rows of the last statement that returned rows.

    With `session`, on the embedded warehouse, the script runs in this process's session
    (see `_session`): what a notebook's SQL cells use.

    Raises:
        SqlProblem: for a marker without a value (before anything runs) or a database error,
            naming the statement.
    """
    parsed = located_statements(text)
    _check_parameters(parsed, parameters)
    if url.startswith(DUCKDB_PREFIX):
        return _run_duckdb(url, parsed, parameters, session)
    return _run_sqlalchemy(url, parsed, parameters)


def warehouse_url(environ: Mapping[str, str] = os.environ) -> str:
    """The attempt's warehouse, as a URL to connect with: `HEADWATER_WAREHOUSE_URL` (the
    embedded default outside a run), with `HEADWATER_WAREHOUSE_PASSWORD` put in. The password
    is redacted from this process's output from now on, as a secret read is."""
    url = environ.get(URL_VARIABLE) or DEFAULT_WAREHOUSE
    password = environ.get(PASSWORD_VARIABLE)
    if not password:
        return url
    from sqlalchemy.engine import make_url  # a database with a password: never DuckDB

    from headwater.runtime.redaction import remember
    remember(password)
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else str(value)
    if isinstance(value, dict):  # a STRUCT or MAP: a JSON object, not Python's text of it
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):  # a LIST or ARRAY
        return [_plain(item) for item in value]
    return str(value)  # dates, decimals, UUIDs, bytes...: their text


def table_output(table: Table | None) -> dict[str, Any]:
    """`sql_output`: the columns and the first rows, at most 1000 rows and 48 KiB of JSON."""
    if table is None:
        return {"columns": [], "rows": [], "truncated": False}
    size = len(json.dumps(table.columns))
    rows: list[list[object]] = []
    for row in table.rows[:MAX_OUTPUT_ROWS]:
        plain = [_plain(v) for v in row]
        size += len(json.dumps(plain)) + 1
        if size > MAX_OUTPUT_BYTES:
            break
        rows.append(plain)
    return {"columns": table.columns, "rows": rows, "truncated": len(rows) < len(table.rows)}


def _shown(path: str) -> str:
    """A SQL file as its task's messages name it: from the job's directory if it is inside."""
    with contextlib.suppress(ValueError):
        return str(Path(path).absolute().relative_to(Path.cwd()))
    return path


def main(argv: Sequence[str]) -> int:
    """Run the SQL of a task; 0 on success, 1 on a SQL error, 2 on bad arguments."""
    if len(argv) != 3 or argv[1] not in ("--file", "--query"):
        print("usage: sql_main PARAMETERS_JSON (--file PATH | --query TEXT)", file=sys.stderr)
        return 2
    parameters, source = json.loads(argv[0]), argv[2]
    if os.environ.get(NOTICE_VARIABLE):
        print(os.environ[NOTICE_VARIABLE], file=sys.stderr)
    try:
        text = Path(source).read_text(encoding="utf-8") if argv[1] == "--file" else source
        table = run_script(warehouse_url(), text, parameters)
    except SqlProblem as problem:  # the task's failure in the database's words: no trace
        message = f"{_shown(source)}: {problem}" if argv[1] == "--file" else str(problem)
        channel.update_result({"error": message})
        print(message, file=sys.stderr)
        return 1
    except Exception as error:  # the task's failure, reported in its result
        message = f"{type(error).__name__}: {error}"
        channel.update_result({"error": message, "error_trace": traceback.format_exc()})
        print(message, file=sys.stderr)
        return 1
    output = table_output(table)
    channel.update_result({"sql_output": output})
    print(json.dumps(output, default=str)[:4000])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
