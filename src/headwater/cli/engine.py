"""`headwater engine`: an engine in the foreground that claims and drives any run that needs one.

Several engines, on one machine (SQLite) or on many (PostgreSQL), share the runs of one state
store through leases. SIGTERM or Ctrl-C stops it: it takes no new runs, hands back the
leases of the runs it holds, and leaves their tasks running for the next engine to adopt.
"""

from __future__ import annotations

import logging
import signal

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.core.redaction import without_password


@click.command()
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once, over every run [default: 4 per CPU, 4 to "
                   "32].")
@db_option
@reports_errors
def engine(max_parallel: int | None, db: str | None) -> None:
    """Run an engine in the foreground: claim runs that need one and drive them, and fire
    the jobs' schedules and triggers."""
    from headwater.bootstrap import application

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = settings_for(db, max_parallel)
    with application(settings) as app, app.engine(schedules=True) as supervisor:

        def stop(signum: int, frame: object) -> None:
            supervisor.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        store = without_password(settings.db_url)
        click.echo(f"engine {app.engine_name} started on {store} (lease "
                   f"{settings.lease_seconds:g}s, at most {settings.max_parallel} tasks at "
                   "once); SIGTERM or Ctrl-C stops it and leaves running tasks running",
                   err=True)
        supervisor.run_until_stopped()
    click.echo(f"engine {app.engine_name} stopped; its runs were handed back", err=True)
