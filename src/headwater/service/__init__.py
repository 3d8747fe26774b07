"""The service: the one door through which the CLI, the API and the UI reach headwater.

Every use case returns at once: starting a run stores it (an engine claims and drives it),
cancel and repair record requests (the engine driving the run carries them out). Every query
(the Jobs API documents, lists with page tokens, logs) is a method here, so `headwater runs
get`, `GET /api/2.2/jobs/runs/get` and the run page answer with the same function.
Errors carry a stable `error_code` (see headwater/errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from headwater.core.permissions import Principal
from headwater.ports import (
    Clock,
    GitCredentialStore,
    SecretScopes,
    Store,
    VolumeFiles,
    WorkspaceFiles,
)
from headwater.service.backfills import BackfillMade, BackfillsMixin
from headwater.service.by_name import ByNameMixin
from headwater.service.deploy import DeployMixin, DeployMode
from headwater.service.details import AttemptLog, DetailsMixin, JobFigures, RunDetails
from headwater.service.exports import ExportsMixin
from headwater.service.files import FilesMixin
from headwater.service.git_credentials import GitCredentialsMixin
from headwater.service.operations import OperationsMixin
from headwater.service.paging import Page
from headwater.service.retention import RetentionMixin
from headwater.service.runs import RepairAsked
from headwater.service.secrets import SecretsMixin
from headwater.service.sessions import SessionsMixin
from headwater.service.submit import SubmitMixin
from headwater.service.workspace import WorkspaceMixin


@dataclass(frozen=True, slots=True)
class Service(DeployMixin, SubmitMixin, BackfillsMixin, ByNameMixin, ExportsMixin,
              OperationsMixin, DetailsMixin, SessionsMixin, SecretsMixin, RetentionMixin,
              GitCredentialsMixin, WorkspaceMixin, FilesMixin):
    """headwater's use cases and queries over a store, on behalf of one principal.

    Args:
        store: the state store.
        clock: the source of time for what the service records.
        user: who acts (the audit log's actor, the runs' creator).
        logs_dir: where attempts' logs live (`runs logs`, `runs output`).
        admin: whether `user` may do everything (the local command line may: it owns its
            state store).
        local: whether it acts for the local command line (False for a token's principal:
            `acting_as`); a secret scope the command line makes is managed by `admins`.
        secrets: the secret scopes tasks read (`dbutils.secrets`), if kept here.
        git_credentials: the users' Git credentials (`git_source` fetches), if kept here.
        workspace: the folder standing for `/Workspace` (deployed bundles' files), if kept here.
        volumes: the volumes of the Files API (`/Volumes/...` in the DBFS folder), if kept here.
        destinations: the destination ids a job's `webhook_notifications` may name, if known.
    """

    store: Store
    clock: Clock
    user: str
    logs_dir: Path
    admin: bool = True
    local: bool = True
    secrets: SecretScopes | None = None
    git_credentials: GitCredentialStore | None = None
    workspace: WorkspaceFiles | None = None
    volumes: VolumeFiles | None = None
    # The notification destinations' ids a job may name (headwater.yml `destinations`);
    # None: not checked (no configuration file says which exist).
    destinations: frozenset[str] | None = None

    def acting_as(self, principal: Principal) -> Service:
        """The same service on behalf of another principal (an API request's token)."""
        return replace(self, user=principal.user, admin=principal.admin, local=False)


__all__ = ["AttemptLog", "BackfillMade", "DeployMode", "JobFigures", "Page", "RepairAsked",
           "RunDetails", "Service"]
