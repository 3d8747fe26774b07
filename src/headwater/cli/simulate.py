"""`headwater simulate`: what a run of a job would show when tasks fail, without running it.

The I/O around the pure what-if core (`core/whatif*.py`): read the job file, turn the options
into a `Scenario`, print the `SimulatedRun` (or, with `--all-failures`, one line per task
failing). The core is imported when the command runs, so `headwater --help` stays fast.
Register with `main.add_command(simulate)`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from headwater.cli.common import (
    BUNDLE_FILE,
    bundle_variables,
    parse_pairs,
    pick_job,
    reports_errors,
    settings_for,
    target_option,
    var_option,
)

if TYPE_CHECKING:
    from headwater.core.spec import JobSettings
    from headwater.core.whatif_results import SimulatedAttempt, SimulatedTask
    from headwater.core.whatif_scenario import Scenario
    from headwater.core.whatif_sweep import FailureCase

__all__ = ["simulate"]

# The Scenario field each option fills, to name the option in a problem.
OPTIONS = {"fail": "--fail", "timeout": "--timeout", "outcomes": "--outcome",
           "iterations": "--iterations", "fail_iterations": "--fail-iteration",
           "durations": "--duration", "cancel_at": "--cancel-at", "parameters": "--param"}
WALL_TIME_NOTE = "retry intervals and timeouts; tasks take no time unless --duration says"


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                default=BUNDLE_FILE, required=False)
@click.option("--job", "job_name", help="Which job of the file (resource or job name).")
@target_option
@var_option
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Set a job parameter for the simulated run; repeatable.")
@click.option("--fail", "fails", multiple=True, metavar="TASK[:N]",
              help="TASK fails every attempt (or its first N); repeatable.")
@click.option("--timeout", "timeouts", multiple=True, metavar="TASK[:N]",
              help="TASK's attempts (or its first N) hang until its timeout stops them.")
@click.option("--outcome", "outcomes", multiple=True, metavar="CONDITION=true|false",
              help="The branch a condition task takes; repeatable.")
@click.option("--iterations", "iterations", multiple=True, metavar="LOOP=N",
              help="How many iterations a for-each runs, when its inputs are not literal.")
@click.option("--fail-iteration", "fail_iterations", multiple=True, metavar="LOOP:I",
              help="Iteration I (from 0) of a for-each fails every attempt; repeatable.")
@click.option("--duration", "durations", multiple=True, metavar="TASK=SECONDS",
              help="How long each attempt of TASK takes [default: 0].")
@click.option("--cancel-at", metavar="TASK", help="Cancel the run the moment TASK starts.")
@click.option("--all-failures", is_flag=True,
              help="Fail each task in turn; one line per task: is its failure handled?")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@reports_errors
def simulate(file: Path, job_name: str | None, target: str | None, var_pairs: Sequence[str],
             params: Sequence[str], fails: Sequence[str], timeouts: Sequence[str],
             outcomes: Sequence[str], iterations: Sequence[str], fail_iterations: Sequence[str],
             durations: Sequence[str], cancel_at: str | None, all_failures: bool,
             as_json: bool) -> None:
    """Show what a run of a job would do when tasks fail, without running it.

    Every attempt succeeds unless an option says otherwise; the job's real plan goes through
    headwater's real state machine on a simulated clock. Prints each task's attempts, states
    and messages, the run's result, the alerts it would send and to whom, and the simulated
    wall time. Nothing runs and nothing is stored. A condition whose operands are known only
    at run time (task values) takes its true branch unless --outcome says otherwise; the
    output says so.
    """
    from headwater.core.load import load_file
    from headwater.core.whatif_scenario import Scenario, ScenarioError

    user = settings_for(None).user
    job = pick_job(load_file(file, target, bundle_variables(var_pairs, os.environ), user),
                   job_name, file)
    scenario = Scenario(
        fail=_counts(fails, "--fail"), timeout=_counts(timeouts, "--timeout"),
        outcomes=_outcomes(outcomes), iterations=_numbers(iterations),
        fail_iterations=_iterations(fail_iterations), durations=_durations(durations),
        cancel_at=cancel_at, parameters=parse_pairs(params, "--param"))
    if all_failures and (fails or timeouts or fail_iterations or cancel_at):
        raise click.UsageError("--all-failures fails each task in turn: it takes no --fail, "
                               "--timeout, --fail-iteration or --cancel-at")
    where = f"job {job.settings.name or job.resource_name!r}" + (
        f", target {job.target}" if job.target else "")
    try:
        if all_failures:
            _all_failures(job.settings, scenario, where, as_json)
        else:
            _one(job.settings, scenario, where, as_json)
    except ScenarioError as error:
        for problem in error.problems:
            where = " ".join(filter(None, (OPTIONS.get(problem.part), problem.value)))
            click.echo(f"error: {where + ': ' if where else ''}{problem.message}", err=True)
        raise SystemExit(1) from None


def _one(settings: JobSettings, scenario: Scenario, where: str, as_json: bool) -> None:
    from headwater.core.whatif import simulate_run

    run = simulate_run(settings, scenario)
    if as_json:
        click.echo(json.dumps(run.to_dict(), indent=2))
        return
    click.echo(f"Simulated run of {where}: nothing ran, nothing was stored.")
    for assumption in run.assumptions:
        click.echo(f"Assumed: {assumption}{_hint(assumption.task_key, assumption.kind)}")
    for note in run.notes:
        click.echo(f"Note: {note}")
    for task in run.tasks:
        _print_task(task)
    status = run.status
    click.echo(f"Run: {run.life_cycle_state} {run.result_state or ''} "
               f"(status {status.state}, {status.code})")
    if run.state_message:
        click.echo(f"  {run.state_message}")
    click.echo("Alerts:" if run.alerts else "Alerts: none")
    for alert in run.alerts:
        about = "the run" if alert.task_key is None else (
            f"{alert.task_key} attempt {alert.attempt_number}")
        click.echo(f"  {alert.event} of {about} ({alert.result_state}) at {_time(alert.at)}: "
                   f"{alert.recipients}")
    click.echo(f"Simulated wall time: {_time(run.wall_time)} ({WALL_TIME_NOTE})")


def _print_task(task: SimulatedTask) -> None:
    outcome = f" [outcome {task.condition_outcome}]" if task.condition_outcome else ""
    for attempt in task.attempts:
        click.echo(_line(task.task_key, attempt) + outcome)
    if task.iterations:
        failed = [i for i in task.iterations if i.result_state != "SUCCESS"]
        count = len({i.iteration for i in task.iterations})
        click.echo(f"  {'':<28} {count} iteration{'s' if count != 1 else ''}, "
                   f"{len(failed)} failed attempt{'s' if len(failed) != 1 else ''}")
        for attempt in failed:
            click.echo(_line(f"{attempt.task_key}[{attempt.iteration}]", attempt))


def _line(name: str, attempt: SimulatedAttempt) -> str:
    """One attempt as `runs get` shows it, with when it ran in the run's time: `0s-60s`, or
    `3s` for one that took none (`-`: it never ran)."""
    span = _time(attempt.start) if attempt.ran else "-"
    if attempt.start is not None and attempt.end is not None and attempt.end > attempt.start:
        span += f"-{_time(attempt.end)}"
    return (f"  {name:<28} attempt {attempt.attempt_number}  {attempt.life_cycle_state:<11} "
            f"{attempt.result_state or '':<18} {span:>11}  {attempt.state_message}").rstrip()


def _all_failures(settings: JobSettings, scenario: Scenario, where: str,
                  as_json: bool) -> None:
    from headwater.core.whatif_sweep import every_failure

    cases = every_failure(settings, scenario)
    if as_json:
        click.echo(json.dumps({"cases": [case.to_dict() for case in cases]}, indent=2))
        return
    unhandled = [case.task_key for case in cases if not case.handled]
    click.echo(f"What if each task fails, after all its retries? {where[0].upper()}"
               f"{where[1:]}; simulated, nothing ran.")
    rows = [("task", "attempts", "run", "handled by", "not run")]
    rows += [_row(case) for case in cases]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                   + "  " + row[4])
    click.echo(f"{len(cases) - len(unhandled)} of {len(cases)} failures handled"
               + (f"; not handled: {', '.join(unhandled)}" if unhandled else "")
               + " (handled: a task runs because of it, or an on_failure alert is sent)")


def _row(case: FailureCase) -> tuple[str, str, str, str, str]:
    name = case.task_key + "".join(f" ({k}={'true' if v else 'false'})"
                                   for k, v in case.outcomes.items())
    if not case.reached:
        return name, "-", "-", "-", f"cannot fail here: {case.skipped}"
    return (name, str(case.attempts), str(case.run.result_state),
            "; ".join(case.handled_by) or "NOTHING", ", ".join(case.not_run) or "-")


def _hint(task_key: str, kind: str) -> str:
    if kind == "outcome":
        return f" (--outcome {task_key}=false for the other)"
    return f" (--iterations {task_key}=N for another count)"


def _time(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    return f"{delta.total_seconds():g}s"


# -- options ---------------------------------------------------------------------------------


def _counts(values: Sequence[str], option: str) -> dict[str, int | None]:
    """`TASK` (every attempt) or `TASK:N` (the first N)."""
    found: dict[str, int | None] = {}
    for value in values:
        key, sep, count = value.rpartition(":") if ":" in value else (value, "", "")
        if sep and not count.isdecimal():
            raise click.BadParameter(f"{value!r}: N must be a number of attempts",
                                     param_hint=option)
        found[key] = int(count) if sep else None
    return found


def _outcomes(values: Sequence[str]) -> dict[str, bool]:
    found = {}
    for key, branch in parse_pairs(values, "--outcome").items():
        if branch.lower() not in ("true", "false"):
            raise click.BadParameter(f"{key}={branch}: the branch is true or false",
                                     param_hint="--outcome")
        found[key] = branch.lower() == "true"
    return found


def _numbers(values: Sequence[str]) -> dict[str, int]:
    found = {}
    for key, count in parse_pairs(values, "--iterations").items():
        if not count.isdecimal():
            raise click.BadParameter(f"{key}={count}: N must be a number",
                                     param_hint="--iterations")
        found[key] = int(count)
    return found


def _iterations(values: Sequence[str]) -> dict[str, dict[int, int | None]]:
    found: dict[str, dict[int, int | None]] = {}
    for value in values:
        key, sep, index = value.rpartition(":")
        if not sep or not index.isdecimal():
            raise click.BadParameter(f"{value!r} is not LOOP:I (I: an iteration from 0)",
                                     param_hint="--fail-iteration")
        found.setdefault(key, {})[int(index)] = None
    return found


def _durations(values: Sequence[str]) -> dict[str, timedelta]:
    found = {}
    for key, seconds in parse_pairs(values, "--duration").items():
        try:
            found[key] = timedelta(seconds=float(seconds))
        except (ValueError, OverflowError):
            raise click.BadParameter(f"{key}={seconds}: SECONDS must be a number",
                                     param_hint="--duration") from None
    return found
