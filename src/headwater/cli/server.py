"""`headwater server`: the Jobs API and the web UI over HTTP, an engine and the alert sender in
one process.

uvicorn serves the API in the main thread; the engine (with the schedules and triggers, and
the outbox sender) runs in a thread beside it, on the same store. Several servers on one
PostgreSQL share the runs through the engines' leases, as `headwater engine`s do.

SIGTERM (or Ctrl-C) drains: uvicorn stops accepting connections and finishes the requests
in flight, then the engine hands back the leases of its runs and leaves their tasks running
for the next engine to adopt; the process exits 0.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
import threading
from typing import TYPE_CHECKING

import click

from headwater.cli.common import db_option, reports_errors, settings_for
from headwater.cli.log_format import configure_logging, log_configuration, log_format_option

if TYPE_CHECKING:
    from pathlib import Path

    import uvicorn
    from starlette.types import ASGIApp

    from headwater.bootstrap import App
    from headwater.engine.supervisor import Supervisor

LOG = logging.getLogger("headwater.server")
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback exposes the API (use TLS in "
                   "front of it).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--max-parallel", type=click.IntRange(min=1),
              help="Most tasks running at once, over every run [default: 4 per CPU, 4 to "
                   "32].")
@click.option("--rate-limit", type=click.FloatRange(min=0.1), default=100.0,
              show_default=True, help="Requests per second one token may send (bursts of "
                                      "twice that); past it, 429 with Retry-After.")
@click.option("--failed-auth-limit", type=click.FloatRange(min=1), default=12.0,
              show_default=True, help="Failed authentications (bad tokens, at the API or the "
                                      "sign-in page) one address may make per minute, after a "
                                      "burst of 20; past it, 429.")
@click.option("--access-log", is_flag=True,
              help="Log every request (method, path, status, client address) at INFO.")
@click.option("--forwarded-allow-ips", metavar="ADDRESSES",
              help="The proxies (comma-separated addresses, or *) whose X-Forwarded-For and "
                   "X-Forwarded-Proto are believed [default: none: the client address is the "
                   "connection's, as anyone may send those headers].")
@log_format_option
@db_option
@reports_errors
def server(host: str, port: int, max_parallel: int | None, rate_limit: float,
           failed_auth_limit: float, access_log: bool, forwarded_allow_ips: str | None,
           log_format: str, db: str | None) -> None:
    """Serve the Jobs API 2.1/2.2 (the databricks-sdk works against it) and the web UI (at /),
    with an engine that drives the runs and fires the schedules. Loopback only unless --host
    says otherwise; SIGTERM drains and leaves running tasks running."""
    import uvicorn

    from headwater.bootstrap import application

    configure_logging(log_format)
    settings = settings_for(db, max_parallel)
    with application(settings) as app, _listening(host, port) as listener:
        metrics_token = _metrics_token(app.config.server.metrics_token_env)
        with app.engine(schedules=True) as supervisor:
            failed = threading.Event()
            site = _site(app, supervisor, failed, metrics_token, rate_limit, failed_auth_limit)
            # log_config=None: uvicorn's lines go to the handler configure_logging set.
            # The address the failed-auth limit counts and the logs name is the connection's
            # unless a proxy in front is named: uvicorn would believe any local client's.
            config = uvicorn.Config(site, host=host, port=port, log_level="info", log_config=None,
                                    timeout_graceful_shutdown=30, access_log=access_log,
                                    proxy_headers=forwarded_allow_ips is not None,
                                    forwarded_allow_ips=forwarded_allow_ips)
            web = uvicorn.Server(config)
            engine = threading.Thread(target=_drive, args=(supervisor, web, failed),
                                      name="headwater-engine")
            _announce(host, port, app.engine_name, settings.db_url, settings.home)
            log_configuration(LOG)
            # uvicorn catches SIGTERM and SIGINT while it serves, then raises them again against
            # the handlers found before: these, so that the process goes on to hand back its runs.
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda number, frame: supervisor.stop())
            engine.start()
            try:
                web.run(sockets=[listener])
            finally:
                supervisor.stop()
                engine.join()
        LOG.info("server stopped; engine %s handed back its runs", app.engine_name,
                 extra={"engine": app.engine_name})
        if failed.is_set():
            raise SystemExit(1)


def _site(app: App, supervisor: Supervisor, failed: threading.Event, metrics_token: str | None,
          rate_limit: float, failed_auth_limit: float) -> ASGIApp:
    """The API and the web UI over the app's service, as one application."""
    from headwater.api.app import ApiSettings, create_app
    from headwater.api.throttle import Limit, Throttle, failed_authentications
    from headwater.web import WebSettings, create_web_app, with_web_ui

    def engine_running() -> bool:  # what /api/health reports: draining or failed is not
        return not (supervisor.stopping.is_set() or failed.is_set())

    refusals = Throttle(failed_authentications(failed_auth_limit))  # the API and UI share it
    api = create_app(app.service, ApiSettings(
        limit=Limit(rate=rate_limit, burst=2 * rate_limit), engine_running=engine_running,
        public_url=app.config.server.public_url, metrics_token=metrics_token,
        refusals=refusals))
    return with_web_ui(api, create_web_app(app.service, WebSettings(refusals=refusals)))


def _drive(supervisor: Supervisor, web: uvicorn.Server, failed: threading.Event) -> None:
    """The engine's thread: drive runs until stopped; if the engine fails, stop serving (a
    server whose runs nobody drives would accept runs that never start)."""
    try:
        supervisor.run_until_stopped()
    except Exception:
        LOG.exception("the engine failed; stopping")
        failed.set()
        web.should_exit = True


def _listening(host: str, port: int) -> socket.socket:
    """A socket listening on `host`:`port`, bound before the engine starts: a server that
    cannot serve drives no run and fires no schedule."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        raise click.UsageError(
            f"cannot listen on {host}:{port}: {error.strerror or error}; is another server "
            "running there? Stop it, or choose another --port") from None


def _metrics_token(variable: str | None) -> str | None:
    """The metrics token in the variable headwater.yml's `server.metrics_token_env` names."""
    if variable is None:
        return None
    token = os.environ.get(variable, "").strip()
    if len(token) < 16:
        raise click.UsageError(
            f"headwater.yml server.metrics_token_env names {variable}, which holds "
            f"{'no token' if not token else 'a token shorter than 16 characters'}: set it "
            "to a long random string (`openssl rand -hex 32`), or remove the setting")
    return token


def _announce(host: str, port: int, engine_name: str, db_url: str, home: Path) -> None:
    from headwater.core.redaction import without_password

    loopback = is_loopback(host)
    reach = ("loopback only: only this machine can reach it" if loopback else
             "WARNING: not loopback: every machine that can reach this address can call the "
             "API; put TLS in front of it")
    LOG.log(logging.INFO if loopback else logging.WARNING,
            "headwater server on http://%s:%s (%s); engine %s started on %s, home %s; SIGTERM "
            "or Ctrl-C drains it and leaves running tasks running", host, port, reach,
            engine_name, without_password(db_url), home.resolve(), extra={"engine": engine_name})
