"""Configuration, built once and passed down: `Settings` (where the state lives, how much runs
at once, who acts) from the command line and the environment, and `HeadwaterConfig` (where
alerts go) from the configuration file.

Nothing reads configuration at import time. The environment is a parameter, so tests can
build settings from a dict.

The configuration file is `headwater.yml` or `.headwater/config.yml`:

    smtp:                         # how e-mail addresses in jobs are reached
      host: smtp.example.com
      port: 587
      security: starttls          # none | starttls | ssl
      username: alerts@example.com
      password_env: HEADWATER_SMTP_PASSWORD   # the NAME of a variable, never the secret
      sender: headwater@example.com
      timeout_seconds: 10
    destinations:                 # what `webhook_notifications: [{id: ...}]` names
      ops-webhook: {type: webhook, url: "https://hooks.example.com/x",
                    headers: {X-Team: data}, header_env: {Authorization: OPS_HOOK_AUTH}}
      team-slack: {type: slack, url_env: SLACK_WEBHOOK_URL}
      team-teams: {type: teams, url_env: TEAMS_WORKFLOW_URL}    # an Adaptive Card
      oncall-pager: {type: pagerduty, integration_key_env: PAGERDUTY_ROUTING_KEY}
      oncall-mail: {type: email, addresses: [oncall@example.com]}
    delivery: {max_attempts: 5, horizon_seconds: 3600, base_delay_seconds: 2}
    server:                       # the headwater server as its users reach it
      public_url: https://headwater.example.com   # alerts link to <public_url>/runs/<run id>
      metrics_token_env: HEADWATER_METRICS_TOKEN  # a token for GET /api/metrics alone
    clusters:                     # Dask clusters (extra `[dask]`): see docs/guide/clusters.md
      analytics:                  # an `existing_cluster_id`, or a `job_cluster_key`
        scheduler_address: tcp://10.0.0.5:8786
        shared_files: true        # the workers see the job's files and the logs at the same paths
      etl_cluster:                # how a job cluster of that key is started
        cluster_class: dask_jobqueue.SLURMCluster
        cluster_kwargs: {cores: 4, memory: 16GB}
    retention:                    # ended runs older than this are pruned, with their logs
      runs_days: 60               # the default, as Databricks; null keeps every run
      caches_days: 30             # task environments and Git copies unused this long go
      prune_every_minutes: 10     # how often each engine looks
    warehouses:                   # what a task's `warehouse_id` names: SQL, %sql, dbt
      a1b2c3d4e5f6a7b8:           # the id the jobs carry (as copied from a workspace)
        url: postgresql+psycopg://etl@db.example.com:5432/analytics   # a SQLAlchemy URL
        password_env: ANALYTICS_DB_PASSWORD   # or password_secret: scope/key
      reporting:
        url: duckdb:///data/reporting.duckdb  # a relative path starts at this file's folder
    duration_warnings:            # warn of runs and tasks much longer than usual (off by default)
      times_usual: 2              # over twice the 95th percentile of their recent durations
      usual_of_last_runs: 20      # of the job's last 20 ended runs
      at_least_runs: 5            # not before 5 durations are known
      at_least_seconds: 60        # never under a minute

Found at `$HEADWATER_CONFIG`, else `headwater.yml` in the working directory, else
`.headwater/config.yml` there; none means no destinations. Credentials are read from the
environment when a message is sent or a task starts (`*_env` fields), or from headwater's
secret scopes (`password_secret`), so they are never stored anywhere.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from headwater.core.load_yaml import compose, find_node, position
from headwater.core.notifications import RetryPolicy, UsualDurations
from headwater.core.retention import (
    DEFAULT_CACHES_DAYS,
    DEFAULT_EVERY,
    DEFAULT_RUNS_DAYS,
    RetentionPolicy,
)
from headwater.engine.log_cap import DEFAULT_CAP_BYTES
from headwater.errors import HeadwaterError
from headwater.runtime.secret_store import SecretError, checked_name

DEFAULT_LEASE_SECONDS = 15.0


def default_max_parallel(cpu_count: int | None) -> int:
    """Tasks mostly wait on I/O or on other programs: four per core, between 4 and 32."""
    return max(4, min(32, 4 * (cpu_count or 1)))


@dataclass(frozen=True, slots=True)
class Settings:
    """Where headwater keeps its state and how much it runs at once."""

    home: Path  # .headwater/ by default: the SQLite store and the attempts' logs
    db_url: str
    max_parallel: int
    user: str = "local"  # who acts: runs' creator, `mode: development` prefixes
    run_job_chain: tuple[int, ...] = ()  # jobs whose Run Job tasks started this engine
    # How long an engine's claim on a run lasts unrenewed: a dead engine's runs wait this
    # long for another engine (an engine on the same host is known dead at once).
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    # Where the audit chain's head is witnessed outside the database (store/audit_anchor.py):
    # `HEADWATER_AUDIT_ANCHOR`, else `audit-anchor.jsonl` in `home`.
    audit_anchor: Path | None = None
    # How an engine starts Python tasks: "fork" (from a warm fork server, the default) or
    # "spawn" (a new interpreter each); the modules its fork servers import beforehand.
    launch: str = "fork"
    fork_preload: tuple[str, ...] = ()

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def secrets_dir(self) -> Path:
        """The secret scopes tasks read (`runtime/secret_store.py`)."""
        return self.home / "secrets"

    @property
    def workspace_dir(self) -> Path:
        """The folder standing for `/Workspace`: deployed bundles' files
        (`engine/workspace_files.py`)."""
        return self.home / "workspace"

    @property
    def dbfs_dir(self) -> Path:
        """The folder standing for DBFS and the volumes (`runtime/dbfs.py`)."""
        return self.home / "dbfs"

    @classmethod
    def from_env(cls, env: Mapping[str, str], cwd: Path, db: str | None = None,
                 max_parallel: int | None = None) -> Settings:
        """`--db` beats `HEADWATER_DB`, which beats `.headwater/headwater.db` under `cwd`."""
        home = Path(env.get("HEADWATER_HOME") or cwd / ".headwater")
        url = db or env.get("HEADWATER_DB") or f"sqlite:///{home / 'headwater.db'}"
        if "://" not in url:  # a plain path is a SQLite file
            url = f"sqlite:///{Path(url).absolute()}"
        parallel = max_parallel or default_max_parallel(os.cpu_count())
        chain = tuple(int(j) for j in env.get("HEADWATER_RUN_JOB_CHAIN", "").split(",") if j)
        anchor = Path(env.get("HEADWATER_AUDIT_ANCHOR") or home / "audit-anchor.jsonl")
        return cls(home=home, db_url=url, max_parallel=parallel, user=current_user(env),
                   run_job_chain=chain, lease_seconds=lease_seconds(env), audit_anchor=anchor,
                   launch=launch_mode(env), fork_preload=fork_preload(env))


def lease_seconds(env: Mapping[str, str]) -> float:
    """`HEADWATER_LEASE_SECONDS` (at least 1), else the default."""
    text = env.get("HEADWATER_LEASE_SECONDS")
    if not text:
        return DEFAULT_LEASE_SECONDS
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"HEADWATER_LEASE_SECONDS must be a number of seconds, got "
                          f"{text!r}") from None
    if not value >= 1:
        raise ConfigError(f"HEADWATER_LEASE_SECONDS must be at least 1, got {text!r}")
    return value


LAUNCH_MODES = ("fork", "spawn")


def launch_mode(env: Mapping[str, str]) -> str:
    """`HEADWATER_LAUNCH`: fork (the default) or spawn."""
    mode = env.get("HEADWATER_LAUNCH") or "fork"
    if mode not in LAUNCH_MODES:
        raise ConfigError(f"HEADWATER_LAUNCH must be fork (Python tasks start from a warm "
                          f"fork server) or spawn (each task starts a new interpreter), got "
                          f"{mode!r}")
    return mode


def fork_preload(env: Mapping[str, str]) -> tuple[str, ...]:
    """`HEADWATER_FORK_PRELOAD`: comma-separated modules the fork servers import."""
    names = tuple(name.strip() for name in env.get("HEADWATER_FORK_PRELOAD", "").split(",")
                  if name.strip())
    wrong = [name for name in names if not all(part.isidentifier() for part in name.split("."))]
    if wrong:
        raise ConfigError(f"HEADWATER_FORK_PRELOAD must list module names separated by commas "
                          f"(like 'pandas,numpy'); not module names: {', '.join(map(repr, wrong))}")
    return names


def current_user(env: Mapping[str, str]) -> str:
    """`HEADWATER_USER`, else the OS login name, else "local" (the server will use tokens)."""
    if env.get("HEADWATER_USER"):
        return env["HEADWATER_USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "local"


CONFIG_VARIABLE = "HEADWATER_CONFIG"
CONFIG_NAMES = ("headwater.yml", ".headwater/config.yml")
MAX_TIMEOUT_SECONDS = 10.0


class ConfigError(HeadwaterError):
    """Raised when the configuration file cannot be read or is invalid."""

    error_code = "INVALID_PARAMETER_VALUE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Strict):
    """An SMTP server: host, port, TLS mode, login (password from the environment)."""

    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str | None = None
    sender: str = "headwater@localhost"
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = MAX_TIMEOUT_SECONDS


def _http_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


class WebhookDestination(_Strict):
    """POST a JSON document to `url` (or the URL in the variable `url_env`)."""

    type: Literal["webhook"]
    url: str | None = None
    url_env: str | None = None
    headers: dict[str, str] = {}
    header_env: dict[str, str] = {}  # header name -> variable holding its value
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = MAX_TIMEOUT_SECONDS

    _check_url = field_validator("url")(_http_url)


class SlackDestination(_Strict):
    """A Slack incoming webhook: `{"text": ...}` to `url` (or the URL in `url_env`)."""

    type: Literal["slack"]
    url: str | None = None
    url_env: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = MAX_TIMEOUT_SECONDS

    _check_url = field_validator("url")(_http_url)


class TeamsDestination(_Strict):
    """A Microsoft Teams Workflows (or incoming-webhook) URL: an Adaptive Card to `url` (or the
    URL in `url_env`)."""

    type: Literal["teams"]
    url: str | None = None
    url_env: str | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = MAX_TIMEOUT_SECONDS

    _check_url = field_validator("url")(_http_url)


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class PagerDutyDestination(_Strict):
    """A PagerDuty service: an Events API v2 event with its routing key, `integration_key` (or
    the key in the variable `integration_key_env`), posted to `url`."""

    type: Literal["pagerduty"]
    integration_key: str | None = None
    integration_key_env: str | None = None
    url: str = PAGERDUTY_EVENTS_URL  # another region's endpoint, or a test's server
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = MAX_TIMEOUT_SECONDS

    _check_url = field_validator("url")(_http_url)


class EmailDestination(_Strict):
    """E-mail to fixed `addresses` through `smtp` (default: the file's `smtp:` section)."""

    type: Literal["email"]
    addresses: list[str] = Field(min_length=1)
    smtp: SmtpSettings | None = None


Destination = Annotated[WebhookDestination | SlackDestination | TeamsDestination
                        | PagerDutyDestination | EmailDestination, Field(discriminator="type")]


class DeliverySettings(_Strict):
    """How often and how long a failing delivery is retried."""

    max_attempts: Annotated[int, Field(ge=1, le=50)] = 5
    horizon_seconds: Annotated[int, Field(ge=1)] = 3600
    base_delay_seconds: Annotated[float, Field(gt=0)] = 2.0
    max_delay_seconds: Annotated[float, Field(gt=0)] = 600.0

    def policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts,
                           base=timedelta(seconds=self.base_delay_seconds),
                           cap=timedelta(seconds=self.max_delay_seconds),
                           horizon=timedelta(seconds=self.horizon_seconds))


class ServerSettings(_Strict):
    """The headwater server as its users reach it."""

    # The web UI's address behind any proxy (a path prefix included): alerts link to the run's
    # page, `<public_url>/runs/<run id>`. None: they name the CLI command only (`headwater runs
    # get`), since the process sending an alert (an engine, `headwater run`) cannot know where
    # users reach the web UI, or whether one runs.
    public_url: str | None = None
    # The NAME of a variable of the server's holding a token that reads `GET /api/metrics`
    # and nothing else, for a Prometheus scraper (a user's token may do all that user may).
    metrics_token_env: str | None = None

    @field_validator("public_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme, _, rest = value.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/") or "?" in rest \
                or "#" in rest:
            raise ValueError(f"{value!r} is not the address of the web UI: give an http:// or "
                             "https:// URL such as https://headwater.example.com (a path "
                             "prefix may follow, no query)")
        return value.rstrip("/")


class ClusterSettings(_Strict):
    """How one named Dask cluster is reached or started (`existing_cluster_id: NAME`, or the
    job cluster whose `job_cluster_key` is NAME); without an entry, a job cluster is a
    `distributed.LocalCluster` of worker processes on this machine."""

    scheduler_address: str | None = None  # an existing scheduler: used, never closed
    cluster_class: str | None = None  # `module.Class` of a Dask cluster manager
    cluster_kwargs: dict[str, object] = {}
    threads_per_worker: Annotated[int, Field(ge=1, le=256)] = 4  # attempts at once per worker
    # Whether the workers see the engine's job directories and logs at the same paths (else
    # the job's files travel with each attempt and its log comes back at its end); by
    # default true for the LocalCluster on this machine, false for any other cluster.
    shared_files: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ClusterSettings:
        if self.scheduler_address is not None and self.cluster_class is not None:
            raise ValueError("give scheduler_address (an existing cluster) or cluster_class "
                             "(a cluster to start), not both")
        return self

    @field_validator("scheduler_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and "://" not in value:
            raise ValueError(f"{value!r} is not a scheduler address such as tcp://host:8786")
        return value

    @field_validator("cluster_class")
    @classmethod
    def _class_path(cls, value: str | None) -> str | None:
        if value is not None and "." not in value.strip("."):
            raise ValueError(f"{value!r} is not a `module.Class` path such as "
                             "dask_jobqueue.SLURMCluster")
        return value


class TaskEnvironmentSettings(_Strict):
    """What tasks inherit from the engine's environment besides the basics
    (`core/task_environment.py` says which): variable names, or patterns like `AWS_*`."""

    inherit: list[str] = []


class LogSettings(_Strict):
    """How much of an attempt's output is kept: past this, its oldest part is dropped
    (`engine/log_cap.py`)."""

    max_bytes_per_attempt: int = Field(default=DEFAULT_CAP_BYTES, ge=64 * 1024)


# What each retention setting removes, for its error: (what goes, when, what null keeps).
_RETAINED = {"runs_days": ("prune runs", "they end", "every run"),
             "caches_days": ("remove task environments", "their tasks end", "them all")}


class RetentionSettings(_Strict):
    """How long ended runs are kept (`core/retention.py`): 60 days by default, as Databricks;
    `runs_days: null` keeps every run forever."""

    runs_days: int | None = DEFAULT_RUNS_DAYS
    # Task environments and Git copies unused this long are removed (made again when needed).
    caches_days: int | None = DEFAULT_CACHES_DAYS
    prune_every_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = \
        int(DEFAULT_EVERY.total_seconds() // 60)

    @field_validator("runs_days", "caches_days")
    @classmethod
    def _at_least_a_day(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and value < 1:
            kept, end, keep_all = _RETAINED[str(info.field_name)]
            raise ValueError(f"{value} days would {kept} as soon as {end}: give a number of "
                             f"days of at least 1, or null to keep {keep_all}")
        return value

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(runs_days=self.runs_days, caches_days=self.caches_days,
                               every=timedelta(minutes=self.prune_every_minutes))


class DurationWarningSettings(_Strict):
    """Warnings of runs and tasks that run much longer than usual, with no threshold to set
    (`core/notifications.UsualDurations`): off unless `times_usual` is given."""

    times_usual: Annotated[float, Field(gt=1)] | None = None  # 2: over twice the usual
    usual_of_last_runs: Annotated[int, Field(ge=1, le=1000)] = 20
    at_least_runs: Annotated[int, Field(ge=1)] = 5
    at_least_seconds: Annotated[int, Field(ge=0)] = 60

    def policy(self) -> UsualDurations | None:
        if self.times_usual is None:
            return None
        return UsualDurations(self.times_usual, self.usual_of_last_runs, self.at_least_runs,
                              self.at_least_seconds)


DUCKDB_PREFIX = "duckdb:///"  # the embedded warehouse's kind: the `duckdb` package, no dialect
_WAREHOUSE_ID = r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}"


class WarehouseSettings(_Strict):
    """A SQL warehouse a task's `warehouse_id` names: a DuckDB file or any database
    SQLAlchemy reaches, its password (if any) from the environment or a secret scope."""

    url: str
    password_env: str | None = None  # the NAME of the engine's variable holding it
    password_secret: str | None = None  # `scope/key` of headwater's secret scopes

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value.startswith(DUCKDB_PREFIX):
            return value
        from sqlalchemy.engine import make_url  # the store's dependency: always installed
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(value)
            url.get_dialect()
        except NoSuchModuleError:  # an ArgumentError too: first
            raise ValueError(f"SQLAlchemy has no dialect {value.split(':', 1)[0]!r}; install "
                             "the package that provides it, or check the URL's scheme") from None
        except ArgumentError:
            raise ValueError(f"{value!r} is not a database URL such as "
                             "postgresql+psycopg://user@host:5432/db or "
                             "duckdb:///path/to/file.duckdb") from None
        if url.password is not None:
            raise ValueError("the URL holds a password, which would then be stored in this "
                             "file: remove it from the URL and name the variable holding it "
                             "with password_env (or a secret with password_secret)")
        return value

    @field_validator("password_secret")
    @classmethod
    def _scope_and_key(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scope, slash, key = value.partition("/")
        if not slash:
            raise ValueError(f"{value!r} is not scope/key, like warehouse/etl_password (the "
                             "scope and key of `headwater secrets put-secret SCOPE KEY`)")
        try:  # named as the secret store names them, with its words
            checked_name("scope", scope)
            checked_name("secret key", key)
        except SecretError as error:
            raise ValueError(f"{value!r}: {error}") from None
        return value

    @model_validator(mode="after")
    def _one_password(self) -> WarehouseSettings:
        if self.password_env is not None and self.password_secret is not None:
            raise ValueError("give password_env or password_secret, not both")
        if self.url.startswith(DUCKDB_PREFIX) and (self.password_env or self.password_secret):
            raise ValueError("a DuckDB file has no password: remove password_env and "
                             "password_secret")
        return self

    def anchored(self, folder: Path) -> WarehouseSettings:
        """This warehouse with a relative DuckDB path made absolute from `folder`."""
        location = self.url[len(DUCKDB_PREFIX):]
        if not self.url.startswith(DUCKDB_PREFIX) or location in ("", ":memory:") \
                or Path(location).is_absolute():
            return self
        return self.model_copy(update={"url": DUCKDB_PREFIX + str((folder / location).absolute())})


class HeadwaterConfig(_Strict):
    """The whole file."""

    smtp: SmtpSettings | None = None
    destinations: dict[str, Destination] = {}
    delivery: DeliverySettings = DeliverySettings()
    server: ServerSettings = ServerSettings()
    clusters: dict[str, ClusterSettings] = {}
    task_environment: TaskEnvironmentSettings = TaskEnvironmentSettings()
    logs: LogSettings = LogSettings()
    retention: RetentionSettings = RetentionSettings()
    warehouses: dict[str, WarehouseSettings] = {}  # by `warehouse_id`
    duration_warnings: DurationWarningSettings = DurationWarningSettings()

    @field_validator("warehouses")
    @classmethod
    def _warehouse_ids(cls, value: dict[str, WarehouseSettings]
                       ) -> dict[str, WarehouseSettings]:
        wrong = [name for name in value if not re.fullmatch(_WAREHOUSE_ID, name)]
        if wrong:  # an id also names the warehouse's commit log file
            raise ValueError(f"warehouse id {wrong[0]!r}: use letters, digits, '_', '-' and "
                             "'.' (at most 128, not starting with '.'), as a warehouse_id is")
        return value

    def secret_variables(self) -> frozenset[str]:
        """The variables the file names as holding secrets: passwords, URLs, header values,
        PagerDuty keys. No task sees them, whatever `task_environment.inherit` says."""
        names: set[str] = set()
        servers = [self.smtp, *(d.smtp for d in self.destinations.values()
                                if isinstance(d, EmailDestination))]
        names.update(s.password_env for s in servers if s is not None and s.password_env)
        names.update(w.password_env for w in self.warehouses.values() if w.password_env)
        for destination in self.destinations.values():
            if isinstance(destination, WebhookDestination | SlackDestination | TeamsDestination):
                names.update([destination.url_env] if destination.url_env else [])
            if isinstance(destination, PagerDutyDestination) and destination.integration_key_env:
                names.add(destination.integration_key_env)
            if isinstance(destination, WebhookDestination):
                names.update(destination.header_env.values())
        return frozenset(names)


def find_config(env: Mapping[str, str], cwd: Path) -> Path | None:
    """The configuration file to read, or None."""
    named = env.get(CONFIG_VARIABLE)
    if named:
        return Path(named)
    for name in CONFIG_NAMES:
        if (cwd / name).is_file():
            return cwd / name
    return None


def known_destinations(config: HeadwaterConfig, env: Mapping[str, str], cwd: Path
                       ) -> frozenset[str] | None:
    """The notification destination ids a job may name: those of the configuration file;
    None (not checked) without one, as nothing then says which exist where the jobs run."""
    return frozenset(config.destinations) if find_config(env, cwd) is not None else None


def load_config(env: Mapping[str, str], cwd: Path) -> HeadwaterConfig:
    """Read and validate the configuration file; an empty config when there is none.

    Raises:
        ConfigError: naming the file and every invalid field.
    """
    path = find_config(env, cwd)
    if path is None:
        return HeadwaterConfig()
    try:
        text = path.read_text(encoding="utf-8")
        root = compose(text)
        body = (yaml.safe_load(text) if root is not None else None) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error}") from error
    try:
        config = HeadwaterConfig.model_validate(body)
    except ValidationError as error:
        problems = [_located(path, root, e) for e in error.errors()]
        raise ConfigError(f"{path}: invalid configuration:\n" + "\n".join(problems)) from error
    folder = path.parent.absolute()
    return config.model_copy(update={"warehouses": {
        name: warehouse.anchored(folder) for name, warehouse in config.warehouses.items()}})


def _located(path: Path, root: yaml.Node | None, error: ErrorDetails) -> str:
    """One problem as `file:line:col: field.path: message`, as job files report them."""
    loc = [part for part in error["loc"] if isinstance(part, str | int)]
    if loc[:1] == ["destinations"] and len(loc) > 2:
        del loc[2]  # the `type` pydantic names (destinations.pager.pagerduty.url): no key
    dotted = ".".join(str(part) for part in loc) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
    if root is None:
        return f"{path}: {dotted}: {message}"
    line, column = position(find_node(root, loc, key=error["type"] == "extra_forbidden"))
    return f"{path}:{line}:{column}: {dotted}: {message}"


__all__ = [
    "CONFIG_VARIABLE",
    "PAGERDUTY_EVENTS_URL",
    "ClusterSettings",
    "ConfigError",
    "DeliverySettings",
    "EmailDestination",
    "HeadwaterConfig",
    "PagerDutyDestination",
    "RetentionSettings",
    "ServerSettings",
    "SlackDestination",
    "SmtpSettings",
    "TeamsDestination",
    "WarehouseSettings",
    "WebhookDestination",
    "find_config",
    "load_config",
]
