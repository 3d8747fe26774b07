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
from headwater.cli.connect import store_on_this_machine
from headwater.cli.log_format import configure_logging, log_configuration, log_format_option

LOG = logging.getLogger("headwater.engine")


@click.command()
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once, over every run [default: 4 per CPU, 4 to "
                   "32].")
@log_format_option
@db_option
@reports_errors
@store_on_this_machine
def engine(max_parallel: int | None, log_format: str, db: str | None) -> None:
    """Run an engine in the foreground: claim runs that need one and drive them, and fire
    the jobs' schedules and triggers."""
    from headwater.bootstrap import application
    from headwater.core.redaction import without_password

    configure_logging(log_format)
    settings = settings_for(db, max_parallel)
    with application(settings) as app, app.engine(schedules=True) as supervisor:

        def stop(signum: int, frame: object) -> None:
            supervisor.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        store = without_password(settings.db_url)
        LOG.info("engine %s started on %s, home %s (lease %gs, at most %s tasks at once); "
                 "SIGTERM or Ctrl-C stops it and leaves running tasks running", app.engine_name,
                 store, settings.home.resolve(), settings.lease_seconds, settings.max_parallel,
                 extra={"engine": app.engine_name})
        log_configuration(LOG)
        supervisor.run_until_stopped()
    LOG.info("engine %s stopped; its runs were handed back", app.engine_name,
             extra={"engine": app.engine_name})
