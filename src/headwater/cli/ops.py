"""Operators' commands: notifications, the audit log, job metrics and read-only SQL.

    headwater notifications list [--run ID] [--status PENDING|DELIVERED|FAILED|DEAD]
    headwater notifications deliver [--wait SECONDS]
    headwater notifications retry ID... | --all [--run ID]
    headwater audit list [--job ID] [--user NAME] [--since 2026-03-01|24h] [--run ID]
    headwater audit verify
    headwater audit reanchor --reason TEXT
    headwater metrics JOB [--runs N]
    headwater sql "SELECT * FROM job_task_run_timeline"

The `headwater` group lists them (`COMMANDS` in cli/main.py). Rich is imported only when a
table is drawn. Each reads this machine's state store, so each is refused while the
environment names a server and `--db` names no store (`store_on_this_machine`).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.cli.connect import store_on_this_machine

if TYPE_CHECKING:
    from headwater.service import Service

_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@contextmanager
def _service(db: str | None) -> Iterator[Service]:
    from headwater.bootstrap import application  # SQLAlchemy: imported when a command runs

    with application(settings_for(db)) as app:
        yield app.service


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(str(column), overflow="fold")
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    for row in cells:
        table.add_row(*row)
    # As wide as the table's widest line (each column's widest cell, plus borders and
    # padding), so that no name is folded, whatever the terminal or pipe it goes to.
    natural = sum(max([len(str(c)), *(len(row[i]) for row in cells if i < len(row))])
                  for i, c in enumerate(columns)) + 3 * len(columns) + 1
    Console(width=max(120, natural)).print(table)


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """`24h`, `30m`, `7d` before `now`, or an ISO date/instant (naive means UTC)."""
    if value is None:
        return None
    relative = _RELATIVE.match(value)
    if relative:
        return now - timedelta(**{_UNITS[relative[2]]: int(relative[1])})
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither an ISO date nor like 24h, 30m, 7d",
                                 param_hint="--since") from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


# -- notifications --------------------------------------------------------------------------


@click.group()
def notifications() -> None:
    """The alerts headwater sends: what is queued, delivered or given up."""


@notifications.command("list")
@click.option("--run", "run_id", type=int, help="Only notifications of this run.")
@click.option("--status", type=click.Choice(["PENDING", "DELIVERED", "FAILED", "DEAD"],
                                            case_sensitive=False))
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@db_option
@reports_errors
@store_on_this_machine
def notifications_list(run_id: int | None, status: str | None, limit: int,
                       db: str | None) -> None:
    """Outbox rows, newest first: event, destination, status, tries, last error."""
    with _service(db) as service:
        rows = service.notifications(run_id, status, limit)
    columns = ("id", "created", "event", "run", "task", "destination", "status", "tries",
               "last error")
    _table("Notifications", columns, [
        (r["outbox_id"], r["created_time"].isoformat(timespec="seconds"), r["event"],
         r["run_id"], r["payload"].get("task_key") or "", r["destination"], r["status"],
         r["attempts"], r["last_error"] or "")
        for r in rows])


@notifications.command("deliver")
@click.option("--wait", type=click.FloatRange(0, 3600), default=0.0, show_default=True,
              help="Keep delivering for this many seconds (retries that fall due too).")
@db_option
@reports_errors
@store_on_this_machine
def notifications_deliver(wait: float, db: str | None) -> None:
    """Deliver the notifications that are due now (leftovers of an engine that stopped)."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as app:
        tried = app.deliver_notifications(wait)
        pending = len(app.service.notifications(status="PENDING", limit=10000))
    click.echo(f"{tried} deliveries tried; {pending} still pending")


@notifications.command("retry")
@click.argument("outbox_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True,
              help="Every notification given up (FAILED or DEAD), of --run if given.")
@click.option("--run", "run_id", type=int, help="Only notifications of this run.")
@db_option
@reports_errors
@store_on_this_machine
def notifications_retry(outbox_ids: tuple[int, ...], every: bool, run_id: int | None,
                        db: str | None) -> None:
    """Give notifications that were given up (FAILED or DEAD: their destination was down,
    or refused them) one more try now, once the cause is fixed; by id (`notifications
    list`), or --all."""
    from headwater.bootstrap import application

    if bool(outbox_ids) == every:
        raise click.UsageError("name the notifications (ids from `headwater notifications "
                               "list --status DEAD`), or give --all (not both)")
    with application(settings_for(db)) as app:
        requeued = app.service.retry_notifications(outbox_ids or None, run_id)
        app.deliver_notifications(0)
        ended = {row["outbox_id"]: row for row in app.service.notifications(
            run_id, limit=10000) if row["outbox_id"] in requeued}
    for outbox_id in requeued:
        row = ended.get(outbox_id, {})
        error = f": {row['last_error']}" if row.get("last_error") else ""
        click.echo(f"notification {outbox_id} to {row.get('destination')}: "
                   f"{row.get('status')}{error}")
    if any(row.get("status") in ("FAILED", "DEAD") for row in ended.values()):
        sys.exit(1)


# -- audit ----------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("list")
@click.option("--job", "job_id", type=int, help="Only entries about this job id.")
@click.option("--user", help="Only entries by this actor.")
@click.option("--since", help="From this instant: an ISO date or time, or 24h, 30m, 7d.")
@click.option("--run", "run_id", type=int, help="Only entries about this run.")
@click.option("--limit", type=click.IntRange(1, 100000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@db_option
@reports_errors
@store_on_this_machine
def audit_list(job_id: int | None, user: str | None, since: str | None, run_id: int | None,
               limit: int, as_json: bool, db: str | None) -> None:
    """Audit entries, oldest first (the newest LIMIT of them)."""
    start = parse_since(since, datetime.now(UTC))
    with _service(db) as service:
        entries = service.audit_entries(job_id, user, start, run_id, limit)
    if as_json:
        for item in entries:
            e = item.entry
            click.echo(json.dumps({
                "id": item.entry_id, "at": e.at.isoformat(), "actor": e.actor,
                "action": str(e.action), "job_id": e.job_id, "run_id": e.run_id,
                "task_key": e.task_key, "attempt": e.attempt, "details": dict(e.details),
                "hash": item.hash}))
        return
    _table("Audit log", ("id", "at", "actor", "action", "job", "run", "task", "attempt",
                         "details"), [
        (i.entry_id, i.entry.at.isoformat(timespec="seconds"), i.entry.actor,
         i.entry.action, i.entry.job_id, i.entry.run_id, i.entry.task_key, i.entry.attempt,
         json.dumps(dict(i.entry.details), sort_keys=True))
        for i in entries])


@audit.command("verify")
@db_option
@reports_errors
@store_on_this_machine
def audit_verify(db: str | None) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that does not match."""
    from headwater.bootstrap import audit_witness
    from headwater.core.audit import AuditAction

    with _service(db) as service:
        report = service.verify_audit()
        reanchored = service.audit_entries(action=str(AuditAction.AUDIT_REANCHORED), limit=1)
    if not report.ok:
        where = "" if report.first_bad is None else f"first bad entry {report.first_bad}: "
        click.echo(f"audit log TAMPERED: {where}{report.problem} ({report.checked} entries "
                   "before it are intact)", err=True)
        sys.exit(1)
    click.echo(f"ok: {report.checked} audit entries, the hash chain is intact")
    for item in reanchored:
        click.echo(f"re-anchored at entry {item.entry_id} "
                   f"({item.entry.at.isoformat(timespec='seconds')}, by {item.entry.actor}): "
                   f"{item.entry.details.get('reason', '')}")
    settings = settings_for(db)
    witness = audit_witness(settings)
    if report.checked and (witness is None or witness.last_seen() is None):
        click.echo(_no_anchor_here(settings.home, None if witness is None else witness.path))


def _no_anchor_here(home: Path, anchor: Path | None) -> str:
    """What `audit verify` could not check: the anchor lives where the store's engines run."""
    named = "" if anchor is None else f" ({anchor})"
    return (f"note: this home ({home.absolute()}) holds no audit anchor for this store{named}, "
            "so only the hash chain was checked, not whether the log was cut short and "
            "re-headed. The anchor lives in the HEADWATER_HOME of the engines and server that "
            "write this store: run `headwater audit verify` with that HEADWATER_HOME (or "
            "HEADWATER_AUDIT_ANCHOR)")


@audit.command("reanchor")
@click.option("--reason", required=True,
              help="Why, as the audit entry records it: the backup restored, and when.")
@db_option
@reports_errors
@store_on_this_machine
def audit_reanchor(reason: str, db: str | None) -> None:
    """Record a restore of the store in the audit log and move the anchor to the log's end
    (admins; the hash chain itself must be intact)."""
    from dataclasses import replace

    from headwater.bootstrap import application, audit_witness
    from headwater.errors import InvalidState

    settings = settings_for(db)
    witness = audit_witness(settings)
    if witness is None:
        raise InvalidState("no audit anchor is set (HEADWATER_AUDIT_ANCHOR): nothing to move")
    seen = witness.last_seen()
    # Without its anchor the store checks the chain and its head row alone, and appends no
    # anchor line of its own: the restarted line below is the first the witness keeps.
    with application(replace(settings, audit_anchor=None)) as app:
        recorded = app.service.record_reanchoring(reason, seen)
    witness.restart(recorded.entry_id, recorded.hash)
    before = "nothing" if seen is None else f"entry {seen.entry_id}"
    click.echo(f"re-anchored at entry {recorded.entry_id} (the anchor had seen {before}); "
               "`headwater audit verify` checks from there")


# -- metrics and SQL ------------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}s"


@click.command()
@click.argument("job")
@click.option("--runs", "last_runs", type=click.IntRange(1, 10000), default=20,
              show_default=True, help="How many of the latest finished runs to summarise.")
@db_option
@reports_errors
@store_on_this_machine
def metrics(job: str, last_runs: int, db: str | None) -> None:
    """Summarise a job's recent runs: success rate, p50/p95 durations, figures per task."""
    with _service(db) as service:
        record, summary = service.job_metrics(job, last_runs)
    rate = "-" if summary.success_rate is None else f"{summary.success_rate:.0%}"
    click.echo(f"Job {record.name!r} (job {record.job_id}): {summary.runs} runs, "
               f"{summary.succeeded} succeeded ({rate}); run duration p50 "
               f"{_seconds(summary.run_p50_seconds) or '-'}, p95 "
               f"{_seconds(summary.run_p95_seconds) or '-'}")
    names = sorted({name for t in summary.tasks for name in t.metrics})
    _table(f"Tasks over the last {summary.runs} runs",
           ("task", "attempts", "failures", "p50", "p95", "queue p50", *names), [
               (t.task_key, t.attempts, t.failures, _seconds(t.p50_seconds),
                _seconds(t.p95_seconds), _seconds(t.queue_p50_seconds),
                *(f"{t.metrics[n]:g}" if n in t.metrics else "" for n in names))
               for t in summary.tasks])


@click.command()
@click.argument("statement")
@click.option("--max-rows", type=click.IntRange(1, 1000000), default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per row.")
@db_option
@reports_errors
@store_on_this_machine
def sql(statement: str, max_rows: int, as_json: bool, db: str | None) -> None:
    """Run one read-only SQL statement against the state store and print the rows.

    Views named after Lakeflow's system tables: jobs, job_tasks, job_run_timeline,
    job_task_run_timeline, and job_task_run_metrics.
    """
    with _service(db) as service:
        columns, rows = service.query(statement, max_rows)
    if as_json:
        for row in rows:
            click.echo(json.dumps(dict(zip(columns, row, strict=True)), default=str))
        return
    _table(f"{len(rows)} rows", columns, rows)


__all__ = ["audit", "metrics", "notifications", "parse_since", "sql"]
