"""`headwater runs`: list runs, look at one, its logs and output; cancel, resume, repair it.

Every command goes through the service, of the local state store or of a server (`--host`);
`resume` and `repair` then follow the run: locally with an engine in this process (or by
watching it, when another engine holds it), on a server by watching it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from headwater.cli.common import counted, db_option, parse_pairs, reports_errors, settings_for
from headwater.cli.connect import connect, finish, server_options, store_on_this_machine
from headwater.cli.run_options import task_parameter_options, task_parameters
from headwater.cli.terminal import printable, printable_stream
from headwater.core.dbt_results import failed_nodes, status_tally
from headwater.core.git_source import source_words
from headwater.core.states import ResultState
from headwater.core.trigger_info import backfill_words, upstream_runs

if TYPE_CHECKING:
    from headwater.core.repair_selection import RepairSelection


@click.group()
def runs() -> None:
    """Look at runs and act on them: list, get, logs, output, cancel, resume, repair, prune."""


@runs.command("list")
@click.option("--job-id", type=int, help="Only runs of this job.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--active-only", is_flag=True, help="Only runs that have not ended.")
@db_option
@server_options
@reports_errors
def runs_list(job_id: int | None, limit: int, active_only: bool, db: str | None,
              host: str | None, profile: str | None) -> None:
    """Runs, newest first."""
    from headwater.cli.connect import LocalConnection

    with connect(db, host, profile) as where:
        page = where.service.list_runs(job_id, limit, active_only)
        if not page.items:  # say where: the store is per folder unless told otherwise
            store = where.app.store.engine.url.render_as_string(hide_password=True) \
                if isinstance(where, LocalConnection) else "the server"
            which = " active" if active_only else ""
            click.echo(f"No{which} runs{f' of job {job_id}' if job_id else ''} in {store}.",
                       err=True)
    if page.items:
        click.echo(f"{'RUN ID':>8}  {'JOB':<30}  {'STATE':<17} {'RESULT':<22} STARTED")
    for s in page.items:
        started = s.start_time.isoformat(timespec="seconds") if s.start_time else "-"
        click.echo(f"{s.run_id:>8}  {s.job_name:<30}  {s.life_cycle:<17} "
                   f"{s.result or '':<22} {started}")


@runs.command("get")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the Jobs API `Run` JSON.")
@click.option("--resolved", is_flag=True,
              help="Include each task run's resolved parameters (include_resolved_values).")
@db_option
@server_options
@reports_errors
def runs_get(run_id: int, as_json: bool, resolved: bool, db: str | None, host: str | None,
             profile: str | None) -> None:
    """One run with every attempt of every task (or one task run, by its id)."""
    with connect(db, host, profile) as where:
        document = where.service.run_document(run_id, resolved)
        if as_json or "tasks" not in document:
            click.echo(json.dumps(document, indent=2))
            return
        print_run(run_id, document, where.service)


def print_run(run_id: int, document: dict[str, Any], service: Any = None) -> None:
    """A run's state and one row per task attempt; with `service`, each failed for-each
    iteration too."""
    state = document["state"]
    click.echo(printable(f"Run {run_id} of {document['run_name']!r}: "
                         f"{state['life_cycle_state']} {state.get('result_state', '')}"))
    if state["state_message"]:
        click.echo(f"  {printable(state['state_message'])}")
    if (only := document.get("headwater", {}).get("only")) is not None:
        click.echo(f"  Partial run of: {printable(', '.join(only))}")
    if task_parameters := document.get("overriding_parameters"):
        click.echo(f"  Task parameters of this run: {printable(json.dumps(task_parameters))}")
    if code := source_words(document.get("git_source")):
        click.echo(f"  Code from Git: {printable(code)}")
    if backfill := backfill_words(document.get("trigger_info")):
        click.echo(f"  Backfill: {backfill}")
    if upstream := upstream_runs(document.get("trigger_info")):
        runs = ", ".join(f"run {run} of job {job}" for job, run in upstream)
        click.echo(f"  Started once {runs} ended")
    repaired = bool(document.get("repair_history"))
    for task in document["tasks"]:
        print_task_run(run_id, task, service, repaired)
    if repaired:
        click.echo(f"  The log of any attempt: headwater runs logs {run_id} TASK_KEY --repair R "
                   f"--attempt A  (R: 0 for the original run, the rows without a repair)")


def print_task_run(run_id: int, task: dict[str, Any], service: Any, repaired: bool) -> None:
    """One attempt's row: its repair, state and message; its resolved parameters when the
    document has them (`--resolved`); a for-each's failed iterations (with `service`)."""
    t_state = task["state"]
    repair = f"repair {task['repair_number']}" if task.get("repair_number") else ""
    stats = task.get("for_each_task", {}).get("stats", {}).get("task_run_stats")
    loop = (f" [{stats['succeeded_iterations']}/{stats['total_iterations']} iterations "
            f"succeeded]") if stats else ""
    message = printable(t_state["state_message"])
    # The API says 0 until an attempt ends; the time so far is not known here
    took = f"{task['execution_duration'] / 1000:.1f}s" if task.get("end_time") else "-"
    click.echo(f"  {task['task_key']:<28} {repair:<9} attempt {task['attempt_number']:<3} "
               f"{t_state['life_cycle_state']:<17} {t_state.get('result_state', ''):<18} "
               f"{took:>6}  {message}{loop}")
    if values := task.get("resolved_values"):
        click.echo(printable(f"      resolved: {json.dumps(values)}"))
    if stats and stats.get("failed_iterations") and service is not None:
        print_failed_iterations(run_id, task, service, repaired)


def print_failed_iterations(run_id: int, task: dict[str, Any], service: Any,
                            repaired: bool) -> None:
    """The failed iterations of a for-each task row, one line each, with how to see a log
    (in a repaired run, naming the row's repair: without it, `runs logs` reads the latest)."""
    repair = f" --repair {task.get('repair_number', 0)}" if repaired else ""
    for item in _iterations(service, task):
        if _failed(item):
            state = item["state"]
            click.echo(f"      iteration {item['iteration']}: {state.get('result_state', '')} "
                       f"{printable(state['state_message'])}  (headwater runs logs {run_id} "
                       f"{task['task_key']} --iteration {item['iteration']}{repair})")


@runs.command("output")
@click.argument("task_run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the Jobs API `RunOutput` JSON.")
@db_option
@server_options
@reports_errors
def runs_output(task_run_id: int, as_json: bool, db: str | None, host: str | None,
                profile: str | None) -> None:
    """The output of one task run: notebook result, error and trace, SQL rows, dbt commands
    and their failed nodes, logs."""
    with connect(db, host, profile) as where:
        document = where.service.output_document(task_run_id)
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    meta = document["metadata"]
    click.echo(f"Task run {meta['run_id']} ({meta['task_key']}, attempt "
               f"{meta['attempt_number']}): {meta['state'].get('result_state', '')}")
    if (result := document.get("notebook_output", {}).get("result")) is not None:
        click.echo(printable(f"notebook result: {result}"))
    rows = document.get("headwater", {}).get("sql_output")
    if rows is not None:
        click.echo(printable(f"sql output: {json.dumps(rows)[:2000]}"))
    for line in dbt_lines(document.get("headwater", {}).get("dbt_output")):
        click.echo(printable(line))
    if "error" in document:
        click.echo(printable(f"error: {document['error']}"))
    if "error_trace" in document:
        click.echo(printable(document["error_trace"]))
    if document.get("logs"):
        click.echo(printable(document["logs"]), nl=False)


def dbt_lines(output: Mapping[str, Any] | None) -> list[str]:
    """A dbt task's commands, each with what its nodes did, and the nodes that failed."""
    lines = []
    for command in (output or {}).get("commands", []):
        nodes = command.get("nodes", [])
        tally = status_tally(nodes, str(command.get("command", "")))
        outcome = "succeeded" if command.get("success") else "FAILED"
        lines.append(f"{command.get('command')}: {outcome} in {command.get('seconds')} s"
                     + (f" ({tally})" if tally else ""))
        lines += [f"  {node.get('unique_id')}: {node.get('status')}"
                  for node in failed_nodes(nodes)]
    return lines


@runs.command("logs")
@click.argument("run_id", type=int)
@click.argument("task_key")
@click.option("--attempt", type=click.IntRange(min=0),
              help="attempt_number as in `runs get` (0 is the first), of the iteration with "
                   "--iteration; the latest by default.")
@click.option("--iteration", type=int,
              help="For a for-each task: the iteration (0 is the first input).")
@click.option("--repair", type=click.IntRange(min=0),
              help="The repair whose attempts to choose from, as in `runs get` (0 is the "
                   "original run); by default the latest the task (or the iteration) ran in.")
@click.option("--raw", is_flag=True, help="The bytes as the task wrote them, escape sequences "
                                         "included (by default control characters are shown "
                                         "as ^[ and the like).")
@click.option("--follow", "-f", "following", is_flag=True,
              help="Print the log as it grows until the attempt ends (without --attempt: the "
                   "task, its retries included, each under a line naming it and followed by one "
                   "saying how it ended).")
@db_option
@server_options
@reports_errors
def runs_logs(run_id: int, task_key: str, attempt: int | None, iteration: int | None,
              repair: int | None, raw: bool, following: bool, db: str | None,
              host: str | None, profile: str | None) -> None:
    """Print the stdout and stderr of one attempt of a task (or of a for-each iteration).

    Attempt numbers start again at 0 in each repair of a run: --attempt picks among those of
    one repair, the latest unless --repair says which. A log over its cap keeps its latest
    part (see docs/reliability.md)."""
    from headwater.cli.log_follow import follow

    with connect(db, host, profile) as where:
        document = where.service.run_document(run_id) if iteration is None else {}
        if iteration is None:
            _refuse_a_loop(document, task_key, where.service)
        chunks = follow(where.service, run_id, task_key, attempt, iteration, repair) \
            if following else where.service.log_chunks(run_id, task_key, attempt, iteration,
                                                       repair)
        written = 0
        for chunk in chunks if raw else printable_stream(chunks):
            written += len(chunk)
            sys.stdout.buffer.write(chunk)
            if following:
                sys.stdout.buffer.flush()
    if not written:
        click.echo(_why_no_output(document, task_key, attempt), err=True)


def _why_no_output(document: dict[str, Any], task_key: str, attempt: int | None) -> str:
    """Why a log is empty: the task did not run (excluded, upstream failed: its state says
    why), or it printed nothing or has not started yet."""
    tasks = [t for t in document.get("tasks", []) if t.get("task_key") == task_key
             and (attempt is None or t.get("attempt_number") == attempt)]
    state = tasks[-1].get("state", {}) if tasks else {}
    result = str(state.get("result_state"))
    if result in ResultState.__members__ and not ResultState(result).ran:
        return (f"(no output: {task_key} did not run: {result} - "
                f"{state.get('state_message', '')})")
    return ("(no output: the attempt printed nothing, has not started, or its log was removed "
            "from the logs folder)")


def _refuse_a_loop(document: dict[str, Any], task_key: str, service: Any) -> None:
    """A for-each task has no log of its own: say how to pick one of its iterations."""
    loop = next((task for task in reversed(document.get("tasks", []))
                 if task["task_key"] == task_key and "for_each_task" in task), None)
    if loop is None:
        return
    iterations = _iterations(service, loop)
    failed = [str(i["iteration"]) for i in iterations if _failed(i)]
    total = loop["for_each_task"].get("stats", {}).get("task_run_stats", {}).get(
        "total_iterations", len({i["iteration"] for i in iterations}))
    hint = f"; the failed ones: {', '.join(failed)}" if failed else ""
    raise click.UsageError(
        f"{task_key!r} is a for-each task: each of its {total} iterations has its own log; "
        f"pick one with --iteration N (0 to {max(total - 1, 0)}){hint}")


def _iterations(service: Any, task: dict[str, Any]) -> list[dict[str, Any]]:
    """The latest attempt of each iteration of a for-each task run, in order."""
    latest: dict[int, dict[str, Any]] = {}
    for item in service.run_document(task["run_id"]).get("iterations", []):
        latest[item["iteration"]] = item  # attempts come in order: the last one wins
    return [latest[index] for index in sorted(latest)]


def _failed(item: dict[str, Any]) -> bool:
    return item["state"].get("result_state") not in (None, "SUCCESS")


@runs.command("cancel")
@click.argument("run_id", type=int)
@click.option("--task", "task_key", help="Cancel only this task of the run.")
@db_option
@server_options
@reports_errors
def runs_cancel(run_id: int, task_key: str | None, db: str | None, host: str | None,
                profile: str | None) -> None:
    """Cancel a run (or one task): running attempts are killed, cleanup tasks still run.

    RUN_ID may also be a task run id (from `runs get`): that task is cancelled.
    """
    with connect(db, host, profile) as where:
        run_id, task_key, next_step = where.service.cancel_any(run_id, task_key)
    what = f"task {task_key!r} of run {run_id}" if task_key else f"run {run_id}"
    click.echo(f"Cancel requested for {what}; {next_step}.")


@runs.command("cancel-all")
@click.option("--job-id", type=int, help="The job whose active runs to cancel.")
@click.option("--backfill", "backfill_id", type=int,
              help="The backfill whose runs that have not ended to cancel (its id, as "
                   "`jobs backfill` and each of its runs say).")
@db_option
@server_options
@reports_errors
def runs_cancel_all(job_id: int | None, backfill_id: int | None, db: str | None,
                    host: str | None, profile: str | None) -> None:
    """Cancel every active run of a job, or of one backfill, queued ones too."""
    if (job_id is None) == (backfill_id is None):
        raise click.UsageError("give --job-id or --backfill, one of the two")
    with connect(db, host, profile) as where:
        if backfill_id is not None:
            cancelled = where.service.cancel_backfill(backfill_id)
            click.echo(f"Cancel requested for {counted(len(cancelled), 'run')} of backfill "
                       f"{backfill_id}.")
            return
        cancelled = where.service.cancel_all(job_id)
        undriven = _undriven(where, job_id) if cancelled else []
    # (a server's API does not say which runs it cancelled)
    which = f"{counted(len(cancelled), 'run')} of job {job_id}: " \
        f"{', '.join(map(str, cancelled))}" if cancelled else f"every active run of job {job_id}"
    click.echo(f"Cancel requested for {which}.")
    if undriven:
        runs_ = f"run{'s' if len(undriven) > 1 else ''} {', '.join(map(str, undriven))}"
        click.echo(f"No engine drives {runs_} now: the cancel waits for one, and any task "
                   "running meanwhile goes on; start `headwater engine`, or `headwater runs "
                   f"resume {undriven[0]}`.")


def _undriven(where: Any, job_id: int | None) -> list[int]:
    """The job's runs still going that no engine drives (on this machine's store: a server
    always has its own engine), whose cancel waits for one."""
    from headwater.cli.connect import LocalConnection

    if not isinstance(where, LocalConnection):
        return []
    service = where.service
    return sorted(run.run_id for run in service.list_runs(job_id, 100, True).items
                  if service.driving_engine(run.run_id) is None)


@runs.command("resume")
@click.argument("run_id", type=int)
@db_option
@server_options
@reports_errors
def runs_resume(run_id: int, db: str | None, host: str | None, profile: str | None) -> None:
    """Continue a run whose engine stopped: finished tasks are not rerun, running ones are
    adopted. If another engine drives the run (or on a server), follow it instead. A run
    waiting in its job's queue starts when a run ahead of it ends: the runs ahead are named,
    and Ctrl-C or SIGTERM cancels the queued run."""
    from headwater.cli.connect import LocalConnection
    from headwater.cli.follow import queued_behind

    with connect(db, host, profile) as where:
        if isinstance(where, LocalConnection):  # a server's engines start what is ahead
            record = where.service.get_run(run_id)
            if record.state.life_cycle == "QUEUED":
                click.echo(queued_behind(where.service, run_id, record.job.job_id,
                                         f"job {record.job.job_id}"))
        ending = where.follow(run_id)
    finish(ending, run_id)


@runs.command("repair")
@click.argument("run_id", type=int)
@click.option("--task", "task_keys", multiple=True, metavar="KEY",
              help="A task to rerun; repeatable.")
@click.option("--all-failed", is_flag=True, help="Rerun every task that did not succeed.")
@click.option("--rerun-dependents", is_flag=True,
              help="Also rerun the tasks downstream of those, even if they succeeded.")
@click.option("--latest-repair-id", type=int,
              help="Guard against a concurrent repair [default: filled in for you].")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Change a job parameter for the repair; the others keep the run's values.")
@task_parameter_options
@db_option
@server_options
@reports_errors
def runs_repair(run_id: int, task_keys: Sequence[str], all_failed: bool,
                rerun_dependents: bool, latest_repair_id: int | None, params: Sequence[str],
                db: str | None, host: str | None, profile: str | None) -> None:
    """Rerun failed tasks inside a run that ended, with the job's current settings.

    With --task, the tasks downstream of those that did not succeed are rerun too (all of
    them with --rerun-dependents); the first line names every task the repair reruns. On this
    machine the code is read from the files as they are now, while the settings are the job's
    deployed ones: when the job's file changed since and says otherwise, a warning says so.
    """
    from headwater.cli.connect import LocalConnection

    if bool(task_keys) == all_failed:
        raise click.UsageError("give either --task KEY (repeatable) or --all-failed")
    with connect(db, host, profile) as where:
        asked = where.service.repair(run_id, list(task_keys), all_failed, rerun_dependents,
                                     latest_repair_id, parse_pairs(params, "--param"),
                                     task_parameters=task_parameters())
        if isinstance(where, LocalConnection):
            job_id = where.service.get_run(run_id).job.job_id
            differs = _file_differs(where.service.get_job(job_id), settings_for(db).user)
            if differs:
                click.echo(f"Warning: {differs}", err=True)
        click.echo(f"Repairing run {run_id} (repair id {asked.repair_id}): rerunning "
                   f"{_reruns(asked.selection, rerun_dependents)}")
        ending = where.follow(run_id, repair_id=asked.repair_id)
    finish(ending, run_id)


def _reruns(chosen: RepairSelection, rerun_dependents: bool) -> str:
    """The tasks a repair reruns, in words: those asked, and why any other."""
    words = ", ".join(chosen.asked)
    if chosen.downstream:
        why = "with --rerun-dependents" if rerun_dependents else "did not succeed"
        words += f", and {', '.join(chosen.downstream)} (downstream, {why})"
    if chosen.added:
        words += f", and {', '.join(chosen.added)} (added to the job since the run)"
    return words


def _file_differs(record: Any, user: str) -> str:
    """What to say when the file the job was deployed from changed since its current version
    was deployed and now makes other settings, which a repair does not run ("" when they
    agree, or no file is known): on this machine the repair reads the code from disk, so the
    mix of old settings and new code would go unnoticed (on Databricks both change only with
    a deploy). Files left as they were say nothing, whatever they make now: the version may
    have been deployed with variables (`--var`) that are not known here."""
    from dataclasses import replace
    from pathlib import Path

    from headwater.cli.bundle_facts import git_facts
    from headwater.cli.common import bundle_variables
    from headwater.core.bundle_model import BundleContext
    from headwater.core.deployment import target_of
    from headwater.core.load import load_bundle
    from headwater.errors import HeadwaterError

    source, key = Path(record.source), record.deployment_key
    if key is None or not source.is_file():  # made through the API: no file to compare
        return ""
    target = target_of(key)
    try:
        loaded = load_bundle([source], target, bundle_variables((), os.environ),
                             BundleContext(user=user, git=git_facts(source.parent)),
                             check_code=False)
    except HeadwaterError:  # a file that does not load now says nothing about the settings
        return ""
    job = next((job for job in loaded.jobs
                if replace(job, source=job.source.resolve()).deployment_key == key), None)
    if job is None or job.settings.model_dump(mode="json", exclude_none=True) == \
            dict(record.settings):
        return ""
    deployed = record.created_time.timestamp()
    if all(file.source.stat().st_mtime <= deployed for file in loaded.files):
        return ""
    options = f" --job {job.resource_name}" + (f" --target {job.target}" if target else "")
    return (f"{job.defined_in or source} differs from version {record.version} of job "
            f"{record.job_id}, whose settings this repair runs (with the code as it is on disk "
            f"now); to repair with the file's settings, run `headwater jobs reset {source}"
            f"{options}` first, or ignore this if it is intended")


@runs.command("prune")
@click.option("--older-than-days", type=click.IntRange(min=1), required=True,
              help="Remove the runs that ended more than this many days ago (at least 1).")
@click.option("--dry-run", is_flag=True, help="Only count what would be removed.")
@db_option
@reports_errors
@store_on_this_machine
def runs_prune(older_than_days: int, dry_run: bool, db: str | None) -> None:
    """Remove old ended runs and their logs now, as engines do on their own after
    `retention.runs_days` (60 by default). Runs with an undelivered notification, a pending
    repair, or a Run Job parent or child still kept are kept too; the audit log is never
    pruned."""
    from headwater.bootstrap import application

    with application(settings_for(db)) as app:
        report = app.service.prune_runs(older_than_days, dry_run)
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {counted(report.runs, 'run')} ({counted(report.task_runs, 'task run')}) "
               f"that ended before {report.cutoff.isoformat(timespec='seconds')}, and "
               f"{counted(report.folders, 'folder')} of logs ({counted(report.bytes, 'byte')})")
    for reason, count in sorted(report.kept.items()):
        click.echo(f"Kept {counted(count, 'older run')}: {reason}")


@runs.command("run-child", hidden=True)
@click.option("--job-id", type=int)
@click.option("--job-name")
@click.option("--parameters", "parameters_json", default="{}")
@click.option("--task-parameters", "task_parameters_json", default="{}")
@click.option("--parent-task-run", type=int, required=True)
@db_option
@reports_errors
def runs_run_child(job_id: int | None, job_name: str | None, parameters_json: str,
                   task_parameters_json: str, parent_task_run: int, db: str | None) -> None:
    """The child engine of a Run Job task (see runners/run_job.py); not for people.

    The parent run's user must be allowed to run the child job (CAN_MANAGE_RUN), as a user
    of the Jobs API would; the engine says who it is beside the secret scopes it may read.
    A run of the local command line's engine (no such word: it acts as the admin) may run any.
    """
    from headwater.bootstrap import application
    from headwater.cli.connect import ending_of_state
    from headwater.cli.follow import follow
    from headwater.core.permissions import Action, Principal
    from headwater.errors import InvalidRequest
    from headwater.runtime.channel import update_result
    from headwater.runtime.secret_store import READABLE_VARIABLE, Readable

    settings = settings_for(db)
    parent = Readable.of(os.environ)
    with application(settings) as app:
        service = app.service if parent is None else app.service.acting_as(
            Principal(parent.user, admin=parent.scopes is None))
        job = service.find_job(job_id, job_name)
        if job.job_id in settings.run_job_chain:
            raise InvalidRequest(f"Run Job tasks form a cycle: job {job.job_id} ({job.name!r}) "
                                 f"is already running above (jobs {settings.run_job_chain})")
        service.authorize(job.job_id, Action.RUN)
        created = service.start_run(job, json.loads(parameters_json),
                                        trigger="RUN_JOB_TASK", strict=False,
                                        task_parameters=json.loads(task_parameters_json),
                                        trigger_info={"run_id": parent_task_run},
                                        owner=app.engine_name,
                                        lease_seconds=settings.lease_seconds)
        update_result({"run_job_output": {"run_id": created.run_id}})
        click.echo(f"Run {created.run_id} of job {job.name!r} started by task run "
                   f"{parent_task_run}")
        # A child of a run whose secret scopes are limited reads what its own user may.
        state = follow(app, created.run_id, created.fence, lines=True,
                       cancel_on=[signal.SIGTERM],  # the attempt parent's kill
                       every_secret_scope=READABLE_VARIABLE not in os.environ)
    ending = ending_of_state(created.run_id, state)
    if not ending.succeeded:  # the task's error is the child run's, not this log's last line
        update_result({"error": f"Run {created.run_id} of job {job.name!r} ended "
                                f"{ending.result}: {ending.message}"})
    finish(ending, created.run_id)
