"""The composition root: the only module that picks adapters and wires them together.

    with application(settings) as app:        # the store and the service
        app.service.run_now(job_id)
        with app.engine(only={run_id}) as engine:  # an engine in this process
            engine.drive(run_id)
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from headwater.config import HeadwaterConfig, Settings, known_destinations, load_config
from headwater.core.task_environment import task_environment
from headwater.engine.git_credential_files import GitCredentialFiles, credentials_dir
from headwater.engine.identity import engine_name
from headwater.engine.run_driver import Observer
from headwater.engine.secret_readers import SecretReaders
from headwater.engine.supervisor import EngineSettings, Supervisor
from headwater.engine.volume_files import VolumeFolder
from headwater.engine.workspace_files import WorkspaceFolder
from headwater.executors.local import LocalExecutor
from headwater.executors.routing import ClusterExecutor, RoutingExecutor
from headwater.notify.outbox import OutboxSender, Router, start_sender
from headwater.runners import runners_by_type
from headwater.runners.sql import Warehouse, Warehouses
from headwater.runtime.dbfs import DBFS_VARIABLE
from headwater.runtime.secret_store import SECRETS_VARIABLE, SecretStore, with_secret_references
from headwater.runtime.written_paths import WORKSPACE_VARIABLE
from headwater.service import Service
from headwater.store import SqlStore, open_store
from headwater.store.audit_anchor import AnchorFile
from headwater.store.migrate import SchemaStatus, schema_status, upgrade_store
from headwater.store.stalled_sessions import StallWatch


class SystemClock:
    """The real clock: aware UTC instants."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class App:
    """The store and the service of one process, and the engines it may start."""

    settings: Settings
    config: HeadwaterConfig  # headwater.yml, read (and so checked) before anything starts
    store: SqlStore
    service: Service
    clock: SystemClock
    engine_name: str  # the name of this process's engine in the leases it holds

    @contextmanager
    def engine(self, only: Collection[int] | None = None, observer: Observer | None = None,
               deliver_alerts: bool = True, schedules: bool = False,
               every_secret_scope: bool = False) -> Iterator[Supervisor]:
        """An engine in this process: a local executor, the runners, the alert sender, and
        (with `schedules`) the scheduler of the jobs' schedules and triggers.

        Its attempts read the secret scopes their run's user may read, or
        `every_secret_scope` (the local command line's engine: it acts as an admin).
        Closing it hands back the runs it holds and leaves their attempts running.
        """
        settings, config = self.settings, self.config
        # Every attempt, here or on a Dask worker, starts from this defined environment, and
        # is told where this machine's secret scopes, DBFS and workspace are (`dbutils.secrets`,
        # `.fs`, `dbutils.notebook.run` of a `/Workspace/...` path).
        task_env = {**task_environment(os.environ, config.task_environment.inherit,
                                       config.secret_variables()),
                    SECRETS_VARIABLE: str(settings.secrets_dir.absolute()),
                    DBFS_VARIABLE: str(settings.dbfs_dir.absolute()),
                    WORKSPACE_VARIABLE: str(settings.workspace_dir.absolute())}
        local = LocalExecutor(task_env=task_env, launch=settings.launch,
                              preload=settings.fork_preload)
        executor = RoutingExecutor(local, lambda: dask_executor(settings, config, task_env),
                                   settings.home / "clusters")
        sender = start_sender(self.store, config, self.clock,
                              os.environ) if deliver_alerts else None
        sql_warehouses = warehouses(settings, config)
        runners = runners_by_type(home=settings.home, db_url=settings.db_url,
                                  run_job_chain=settings.run_job_chain,
                                  warehouses=sql_warehouses)
        engine_settings = EngineSettings(logs_dir=settings.logs_dir,
                                         max_parallel=settings.max_parallel,
                                         actor=settings.user,
                                         lease_seconds=settings.lease_seconds,
                                         log_cap_bytes=config.logs.max_bytes_per_attempt,
                                         schedules=schedules,
                                         fleet=only is None and schedules,
                                         warehouse_commits=sql_warehouses.commit_logs(
                                             Path.cwd()),
                                         dbfs_dir=settings.dbfs_dir.absolute(),
                                         workspace_dir=settings.workspace_dir.absolute(),
                                         retention=config.retention.policy(),
                                         usual_durations=config.duration_warnings.policy())
        readers = None if every_secret_scope else SecretReaders(
            self.store, SecretStore(settings.secrets_dir), self.clock)
        supervisor = Supervisor(self.store, executor, runners, self.clock, engine_settings,
                                self.engine_name, only=only, observer=observer,
                                clusters=executor, secret_readers=readers)
        # Engines share a PostgreSQL store: each ends the sessions a frozen peer left mid-write.
        watch = StallWatch(self.store.end_stalled_sessions) \
            if self.store.engine.dialect.name == "postgresql" else None
        try:
            yield supervisor
        finally:
            supervisor.hand_back()
            executor.close()
            if sender is not None:
                sender.stop(drain_seconds=10)
            if watch is not None:
                watch.stop()


    def deliver_notifications(self, wait_seconds: float = 0.0) -> int:
        """Deliver what the outbox holds that is due, for `wait_seconds` more (retries that
        fall due meanwhile too); how many deliveries were tried."""
        config = self.config
        sender = OutboxSender(self.store, Router(config, os.environ), self.clock,
                              config.delivery.policy())
        deadline, tried = time.monotonic() + wait_seconds, 0
        try:
            while (count := sender.deliver_due()) or time.monotonic() < deadline:
                tried += count
                if count == 0:
                    time.sleep(0.2)
        finally:
            sender.close()
        return tried


def warehouses(settings: Settings, config: HeadwaterConfig) -> Warehouses:
    """The embedded warehouse in the home and headwater.yml's, as the SQL, notebook and dbt
    runners and the table-update triggers take them."""
    return Warehouses(home=settings.home, environ=os.environ, by_id={
        name: Warehouse(w.url, w.password_env, w.password_secret)
        for name, w in config.warehouses.items()})


def probe_warehouse(settings: Settings, config: HeadwaterConfig,
                    warehouse_id: str | None) -> tuple[str, str | None]:
    """Connect to a warehouse (None: the embedded one) as a task would, from this process's
    environment and secret scopes, and run `SELECT 1`: its URL (never with its password) and
    why it did not answer (None when it did)."""
    from headwater.entrypoints.sql import run_script, warehouse_url

    found = warehouses(settings, config)
    url = found.url_of(warehouse_id, Path.cwd())
    try:
        env = {**found.environment(warehouse_id, Path.cwd()),
               SECRETS_VARIABLE: str(settings.secrets_dir.absolute())}
        env = with_secret_references(env)
        run_script(warehouse_url(env), "SELECT 1", {})
    except Exception as error:  # any failure is the answer, reported
        return url, str(error)
    return url, None


def dask_executor(settings: Settings, config: HeadwaterConfig,
                  task_env: Mapping[str, str]) -> ClusterExecutor:
    """The executor of attempts on Dask clusters (imports Dask: the `[dask]` extra); its
    attempts start from `task_env`, as local ones do.

    Raises:
        ImportError: when Dask is not installed.
    """
    from headwater.executors.dask import DaskExecutor  # an optional extra: imported on use
    from headwater.executors.dask_clusters import Clusters

    return DaskExecutor(Clusters(settings.home.absolute() / "clusters", config.clusters),
                        settings.home, task_env=task_env)


@contextmanager
def application(settings: Settings) -> Iterator[App]:
    """The store and the service over the configured database, closed on exit.

    headwater.yml is read first: a mistake in it is reported (located) before a job is deployed
    or a run started, not when an engine starts."""
    config = load_config(os.environ, Path.cwd())
    store = open_store(settings.db_url, anchor_path=settings.audit_anchor)
    clock = SystemClock()
    try:
        yield App(settings, config, store,
                  Service(store, clock, settings.user, settings.logs_dir,
                          secrets=SecretStore(settings.secrets_dir),
                          git_credentials=GitCredentialFiles(credentials_dir(settings.home)),
                          workspace=WorkspaceFolder(settings.workspace_dir,
                                                    settings.home / "workspace-sync"),
                          volumes=VolumeFolder(settings.dbfs_dir.absolute()),
                          destinations=known_destinations(config, os.environ, Path.cwd())),
                  clock, engine_name())
    finally:
        store.close()


def audit_witness(settings: Settings) -> AnchorFile | None:
    """The file where this home witnesses the store's audit chain (store/audit_anchor.py),
    for `headwater audit verify` and `reanchor`; None when the settings name none."""
    if settings.audit_anchor is None:
        return None
    return AnchorFile(settings.audit_anchor, settings.db_url)


def store_schema(settings: Settings) -> SchemaStatus:
    """Where the state store's schema stands (`headwater db status`). Unlike `application`,
    which refuses a PostgreSQL store that lags (store/migrate.py), this opens any store and
    migrates nothing."""
    return schema_status(settings.db_url)


def upgrade_store_schema(settings: Settings) -> tuple[str | None, str]:
    """Bring the state store's schema to head on purpose (`headwater db upgrade`); the
    revisions it was at and is at now."""
    return upgrade_store(settings.db_url)
