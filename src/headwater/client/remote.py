"""`RemoteService`: what the CLI's commands ask of the service, asked of a server's REST API.

Each method answers like its namesake of `headwater.service.Service`, from the Jobs API's
documents, so that a command prints the same against the local state store and a server.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from headwater.client.http import Api
from headwater.core.backfill import Backfill
from headwater.core.job_update import paused_changes
from headwater.core.repair_selection import RepairSelection
from headwater.core.spec import JobSettings
from headwater.errors import NotFound
from headwater.ports import JobRecord, RunCreated, RunSummary, SyncedFiles
from headwater.service.attempt_choice import Attempt, iteration_attempts, pick_attempt
from headwater.service.backfills import BackfillMade
from headwater.service.deploy import DeployMode, RemovedJob
from headwater.service.paging import Page
from headwater.service.runs import NOT_SUCCEEDED, RepairAsked

JOBS, HEADWATER = "/api/2.2/jobs", "/api/2.2/headwater"
DEPLOY = f"{HEADWATER}/deploy"
BACKFILL = f"{HEADWATER}/backfill"
SECRETS = "/api/2.0/secrets"
RUNS_PAGE = 24  # the most runs/list gives in one answer


class RemoteService:
    """The service of a `headwater server`, through its REST API."""

    def __init__(self, api: Api) -> None:
        self.api = api

    # Secret scopes (the Secrets API 2.0: a scope made here is managed by its maker).

    def secret_scopes(self) -> list[str]:
        body = self.api.get(SECRETS + "/scopes/list")
        return [str(scope["name"]) for scope in body.get("scopes", [])]

    def create_secret_scope(self, scope: str) -> None:
        self.api.post(SECRETS + "/scopes/create", {"scope": scope})

    def put_secret_acl(self, scope: str, principal: str, permission: str) -> None:
        self.api.post(SECRETS + "/acls/put", {"scope": scope, "principal": principal,
                                              "permission": permission})

    # Runs.

    def list_runs(self, job_id: int | None = None, limit: int = 20,
                  active_only: bool = False) -> Page[RunSummary]:
        """The newest `limit` runs, over as many pages of the API's (24 runs at most, as
        the Jobs API's) as that takes."""
        runs: list[RunSummary] = []
        token = None
        while True:
            body = self.api.get(f"{JOBS}/runs/list", job_id=job_id,
                                limit=min(limit - len(runs), RUNS_PAGE),
                                active_only=active_only or None, page_token=token)
            runs += [_summary(run) for run in body.get("runs", [])]
            token = body.get("next_page_token")
            if len(runs) >= limit or not token or not body.get("has_more", True):
                return Page(runs[:limit], token)

    def run_document(self, run_id: int, include_resolved_values: bool = False
                     ) -> dict[str, Any]:
        document: dict[str, Any] = self.api.get(
            f"{JOBS}/runs/get", run_id=run_id,
            include_resolved_values=include_resolved_values or None, include_history=True)
        return document

    def output_document(self, task_run_id: int) -> dict[str, Any]:
        document: dict[str, Any] = self.api.get(f"{JOBS}/runs/get-output", run_id=task_run_id)
        return document

    def log_chunks(self, run_id: int, task_key: str, attempt: int | None = None,
                   iteration: int | None = None, repair: int | None = None
                   ) -> Iterator[bytes]:
        """The whole kept log of one attempt, whatever its task (`runs/get-output` has none
        for a notebook)."""
        task_run = self.task_run_id(run_id, task_key, attempt, iteration, repair)
        yield self.api.get_bytes(f"{HEADWATER}/runs/logs", run_id=task_run)

    def task_run_id(self, run_id: int, task_key: str, attempt: int | None,
                    iteration: int | None, repair: int | None = None) -> int:
        """The id of one attempt of a task or of an iteration, picked as the service's
        `log_file` picks it (by default the latest attempt of the latest repair)."""
        document = self.run_document(run_id)
        tasks = [t for t in document["tasks"] if t["task_key"] == task_key]
        if not tasks:
            known = ", ".join(sorted({t["task_key"] for t in document["tasks"]}))
            raise NotFound(f"Run {run_id} has no task {task_key!r}; its tasks are: {known}")
        if iteration is None:
            what = f"Task {task_key!r} of run {run_id}"
            attempts = [Attempt(t.get("repair_number", 0), t["attempt_number"], int(t["run_id"]))
                        for t in tasks]
        else:
            what = f"Iteration {iteration} of task {task_key!r} of run {run_id}"
            attempts = self._iteration_attempts(run_id, tasks, iteration)
        return pick_attempt(what, attempts, attempt, repair)

    def _iteration_attempts(self, run_id: int, tasks: Sequence[Mapping[str, Any]],
                            iteration: int) -> list[Attempt[int]]:
        """Every attempt of one iteration in every run of a for-each task, oldest first, each
        in its for-each's repair (as `iterations[]` of each for-each task run lists them)."""
        loops = [t for t in tasks if "stats" in t.get("for_each_task", {})]  # those that ran
        found = [Attempt(loop.get("repair_number", 0), item["attempt_number"],
                         int(item["run_id"]))
                 for loop in loops
                 for item in self.run_document(loop["run_id"]).get("iterations", [])
                 if item.get("iteration") == iteration]
        started = [loop["for_each_task"]["stats"]["task_run_stats"]["scheduled_iterations"]
                   for loop in loops]
        return iteration_attempts(tasks[0]["task_key"], run_id, iteration, started, found)

    def cancel_any(self, run_id: int, task_key: str | None) -> tuple[int, str | None, str]:
        """Cancel a run, one task of it, or a task run by its id; (run id, task key, what
        happens next)."""
        document = self.run_document(run_id)
        if "job_run_id" in document and "tasks" not in document:  # a task run id
            run_id, task_key = document["job_run_id"], document["task_key"]
        if task_key is not None:
            task_run = self.task_run_id(run_id, task_key, None, None)
            self.api.post(f"{JOBS}/runs/cancel", {"run_id": task_run})
        else:
            self.api.post(f"{JOBS}/runs/cancel", {"run_id": run_id})
        return run_id, task_key, "the server's engines carry it out"

    def repair(self, run_id: int, task_keys: list[str], all_failed: bool = False,
               rerun_dependents: bool = False, latest_repair_id: int | None = None,
               overrides: Mapping[str, str] | None = None,
               task_parameters: Mapping[str, Any] | None = None) -> RepairAsked:
        document = self.run_document(run_id)
        history = document.get("repair_history") or []
        latest = latest_repair_id or (history[-1]["id"] if len(history) > 1 else None)
        body = self.api.post(f"{JOBS}/runs/repair", {
            "run_id": run_id, "rerun_tasks": task_keys or None,
            "rerun_all_failed_tasks": all_failed or None,
            "rerun_dependent_tasks": rerun_dependents or None, "latest_repair_id": latest,
            "job_parameters": dict(overrides) if overrides else None,
            **(task_parameters or {})})
        rerun = body.get("headwater", {}).get("rerun", {})
        selection = RepairSelection(*(tuple(rerun.get(why, ())) for why in
                                      ("asked", "downstream", "added")))
        keys = task_keys or _failed_tasks(document)
        return RepairAsked(int(body["repair_id"]), tuple(keys), selection)

    def notebook_results(self, run_id: int) -> dict[str, str]:
        found = {}
        for task in self.run_document(run_id)["tasks"]:
            if "notebook_task" in task and task["state"].get("result_state") == "SUCCESS":
                result = self.output_document(task["run_id"]).get("notebook_output", {})
                if result.get("result"):
                    found[task["task_key"]] = str(result["result"])
        return found

    # Jobs.

    def list_jobs(self, name: str | None = None, limit: int = 20) -> Page[JobRecord]:
        body = self.api.get(f"{JOBS}/list", name=name, limit=min(limit, 100),
                            expand_tasks=True)
        return Page([_job(job) for job in body.get("jobs", [])], body.get("next_page_token"))

    def job_document(self, job_id: int, include_trigger_state: bool = False,
                     include_trigger_history: bool = False) -> dict[str, Any]:
        document: dict[str, Any] = self.api.get(
            f"{JOBS}/get", job_id=job_id, include_trigger_state=include_trigger_state,
            include_trigger_history=include_trigger_history)
        return document

    def delete_job(self, job_id: int) -> None:
        self.api.post(f"{JOBS}/delete", {"job_id": job_id})

    def set_paused(self, job_id: int, paused: bool) -> JobRecord:
        changes = paused_changes(job_id, self.job_document(job_id)["settings"], paused)
        self.api.post(f"{JOBS}/update", {"job_id": job_id, "new_settings": changes})
        return _job(self.job_document(job_id))

    def run_now(self, job_id: int, overrides: Mapping[str, str] | None = None,
                only: Sequence[str] | None = None,
                task_parameters: Mapping[str, Any] | None = None) -> RunCreated:
        body = self.api.post(f"{JOBS}/run-now", {"job_id": job_id,
                                                "job_parameters": dict(overrides or {}),
                                                **({"only": list(only)} if only else {}),
                                                **(task_parameters or {})})
        state = self.run_document(int(body["run_id"]))["state"]
        return RunCreated(int(body["run_id"]), state["life_cycle_state"],
                          state.get("state_message", ""))

    def cancel_all(self, job_id: int | None, all_queued_runs: bool = False) -> list[int]:
        """Cancel a job's active runs (`runs/cancel-all`); the API does not say which."""
        self.api.post(f"{JOBS}/runs/cancel-all", {"job_id": job_id,
                                                  "all_queued_runs": all_queued_runs})
        return []

    def backfill(self, job_id: int, backfill: Backfill,
                 overrides: Mapping[str, str] | None = None) -> BackfillMade:
        body = self.api.post(BACKFILL, {**_backfill_body(job_id, backfill),
                                        "job_parameters": dict(overrides or {})})
        return BackfillMade(int(body["backfill_id"]), [
            (datetime.fromisoformat(run["time"]), RunCreated(int(run["run_id"]), run["state"]))
            for run in body["runs"]])

    def cancel_backfill(self, backfill_id: int) -> list[int]:
        body = self.api.post(f"{BACKFILL}/cancel", {"backfill_id": backfill_id})
        return [int(run_id) for run_id in body["run_ids"]]

    def backfill_times(self, job_id: int, backfill: Backfill,
                       overrides: Mapping[str, str] | None = None) -> list[datetime]:
        body = self.api.post(BACKFILL, {**_backfill_body(job_id, backfill), "dry_run": True,
                                        "job_parameters": dict(overrides or {})})
        return [datetime.fromisoformat(time) for time in body["times"]]

    def deployed_job(self, deployment_key: str, source: str) -> JobRecord:
        body = self.api.get(DEPLOY, deployment_key=deployment_key)
        return _job(self.job_document(int(body["job_id"])))

    def reset_job(self, job_id: int, settings: JobSettings, source: str = "api") -> JobRecord:
        self.api.post(f"{JOBS}/reset", {"job_id": job_id, "new_settings": settings.model_dump(
            mode="json", exclude_none=True)})
        return _job(self.job_document(job_id))

    def deploy(self, settings: JobSettings, source: str, deployment_key: str,
               mode: DeployMode = DeployMode.DEPLOY) -> tuple[JobRecord, str]:
        body = self.api.post(DEPLOY, {
            "deployment_key": deployment_key, "source": source, "mode": str(mode),
            "settings": settings.model_dump(mode="json", exclude_none=True)})
        return _job(self.job_document(int(body["job_id"]))), str(body["status"])

    def check_may_deploy(self, deployment_keys: Sequence[str]) -> None:
        self.api.post(f"{DEPLOY}/check", {"deployment_keys": list(deployment_keys)})

    def workspace(self) -> tuple[str, str]:
        """The server's folder standing for `/Workspace`, and the caller's user name there."""
        body = self.api.get(f"{DEPLOY}/workspace")
        return str(body["workspace_dir"]), str(body["user"])

    def changed_workspace_files(self, path: str, digests: Mapping[str, str]) -> list[str]:
        body = self.api.post(f"{DEPLOY}/files/compare", {"path": path, "files": dict(digests)})
        return [str(name) for name in body["changed"]]

    def sync_workspace_files(self, path: str, archive: bytes) -> SyncedFiles:
        body = self.api.post_bytes(f"{DEPLOY}/files", archive, "application/gzip", path=path)
        return SyncedFiles(str(body["folder"]), int(body["written"]), int(body["unchanged"]),
                           int(body["deleted"]))

    def remove_workspace_files(self, path: str) -> bool:
        return bool(self.api.post(f"{DEPLOY}/files/delete", {"path": path})["removed"])

    def remove_left_out(self, bundle: str, target: str | None, kept: Sequence[str],
                        dry_run: bool = False, root_path: str | None = None
                        ) -> list[RemovedJob]:
        body = self.api.post(f"{DEPLOY}/prune", {"bundle": bundle, "target": target,
                                                 "keep": list(kept), "dry_run": dry_run,
                                                 "root_path": root_path})
        return [RemovedJob(str(job["resource_key"]), int(job["job_id"]), str(job["name"]))
                for job in body["removed"]]


def _instant(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms else None


def _summary(run: Mapping[str, Any]) -> RunSummary:
    state = run.get("state", {})
    return RunSummary(run_id=run["run_id"], job_id=run.get("job_id", 0),
                      job_name=run.get("run_name", ""), life_cycle=state["life_cycle_state"],
                      result=state.get("result_state"), start_time=_instant(run.get("start_time")),
                      end_time=_instant(run.get("end_time")))


def _backfill_body(job_id: int, backfill: Backfill) -> dict[str, Any]:
    return {"job_id": job_id, "start": backfill.start.isoformat(),
            "end": backfill.end.isoformat(), "every": backfill.every.text(),
            "newest_first": backfill.newest_first}


def _job(job: Mapping[str, Any]) -> JobRecord:
    extra = job.get("headwater", {})
    settings = {k: v for k, v in job["settings"].items() if k != "format"}
    return JobRecord(job_id=job["job_id"], version=extra.get("version", 1),
                     name=settings.get("name", ""), settings=settings,
                     source=extra.get("source", "api"),
                     created_time=_instant(job.get("created_time")) or datetime.now(UTC),
                     creator=job.get("creator_user_name"),
                     deployment_key=extra.get("deployment_key"))


def _failed_tasks(document: Mapping[str, Any]) -> Sequence[str]:
    latest: dict[str, Mapping[str, Any]] = {}
    for task in document.get("tasks", []):
        latest[task["task_key"]] = task
    failed = {str(r) for r in NOT_SUCCEEDED}
    return [key for key, task in latest.items() if task["state"].get("result_state") in failed]
