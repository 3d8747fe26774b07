"""Starting one attempt: resolve its parameters, then run it in-process or as a process.

Conditions and for-each expansions need no process: they are evaluated here, at once. Every
other task type goes through its runner (which builds argv and environment) and the executor.
Each function returns the events that happened, for the engine to apply in order. An attempt
is told the secret scopes its run's user may read, as the store says at its launch
(`secret_readers.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from headwater.core.compute import cluster_for
from headwater.core.events import Event, TaskFailed, TaskStarted, could_not_start
from headwater.core.git_source import reads_git
from headwater.core.inline import inline_events
from headwater.core.plan import PlannedTask
from headwater.core.refs import ReferenceError
from headwater.core.refs_facts import SqlOutputs
from headwater.core.runstate import RunState, TaskRun
from headwater.core.spec import JobSettings, Task
from headwater.core.spec_libraries import with_libraries
from headwater.core.task_variables import (
    cluster_variables,
    merged_variables,
    parse_env_file,
    selected_entry,
)
from headwater.engine.attempts import CONTEXT, OUTPUT_LOG, attempt_dir
from headwater.engine.git_checkouts import CheckoutFailed, Checkouts
from headwater.engine.resolution import job_parameters, ref_context, resolve_task, task_parameters
from headwater.engine.secret_readers import SecretReaders
from headwater.errors import HeadwaterError, InvalidRequest, StoreError
from headwater.ports import AttemptKey, Executor, Runner, RunRecord, TaskContext
from headwater.runtime.written_paths import in_workspace_folder


class Launcher:
    """Builds and starts the attempts of one run."""

    def __init__(self, runners: Mapping[str, Runner], logs_dir: Path, record: RunRecord,
                 settings: JobSettings, checkouts: Checkouts,
                 sql_outputs: SqlOutputs | None = None,
                 secret_readers: SecretReaders | None = None,
                 workspace_dir: Path | None = None) -> None:
        self.runners, self.logs_dir, self.record = runners, logs_dir, record
        self.workspace_dir = workspace_dir  # where `/Workspace/...` paths point
        self.settings, self.checkouts, self.sql_outputs = settings, checkouts, sql_outputs
        self.secret_readers = secret_readers  # None: its attempts read every scope
        self.secret_env: dict[str, str] | None = None  # what they may read: found once a run
        self.inputs: dict[int, list[object]] = {}  # parsed inputs of each for-each, by seq

    def input_of(self, state: RunState, run: TaskRun) -> str | None:
        """The JSON of an iteration's element (`{{input}}`); None outside a for-each."""
        if run.parent_seq is None or run.iteration is None:
            return None
        if run.parent_seq not in self.inputs:
            text = state.task_runs[run.parent_seq].inputs
            self.inputs[run.parent_seq] = json.loads(text or "[]")
        return json.dumps(self.inputs[run.parent_seq][run.iteration])

    def resolved(self, state: RunState, ids: Mapping[int, int], run: TaskRun,
                 ) -> tuple[PlannedTask, Task, dict[str, str], str | None]:
        """The planned task, its resolved spec, the job parameters and the resolved JSON."""
        task = state.task_of(run)
        parameters = job_parameters(self.record, state, ids)
        context = ref_context(self.record, state, ids, run, parameters,
                              self.input_of(state, run), self.sql_outputs)
        spec, changes = resolve_task(task.spec, context)
        return task, spec, parameters, json.dumps(changes) if changes else None

    def code_pending(self, state: RunState, run: TaskRun) -> bool:
        """Whether the attempt waits for the run's Git checkout (started here if it was not
        begun); False for a task that reads no Git.

        Raises:
            CheckoutFailed: when the checkout could not be made.
        """
        if not self._reads_git(state, run):
            return False
        if self.settings.git_source is None:  # refused by the job's checks; said again here
            raise CheckoutFailed(f"task {run.task_key!r} reads its code from Git (source: "
                                 "GIT), but the job has no git_source")
        return self.checkouts.ready(self.run_dir, run.repair, self.settings.git_source,
                                    self.user) is None

    def secret_environment(self) -> dict[str, str]:
        """What tells the run's attempts which secret scopes they may read: found at its
        first launch (two reads of the store), so that a grant reaches the next run and the
        launches of a thousand iterations cost no query each."""
        if self.secret_readers is None:
            return {}
        if self.secret_env is None:
            self.secret_env = self.secret_readers.environment(self.user)
        return self.secret_env

    @property
    def user(self) -> str:
        """Who the run runs as: whose Git credential and secret scopes its tasks use."""
        return self.record.run_as or self.record.creator

    def code_dir(self, state: RunState, run: TaskRun) -> Path | None:
        """The run's checkout, for a task that reads from Git (made: see `code_pending`)."""
        if not self._reads_git(state, run):
            return None
        snapshot = self.checkouts.made(self.run_dir, run.repair)
        if snapshot is None:
            raise CheckoutFailed("the run's Git checkout is not made yet")
        return snapshot.directory

    def code_settled(self, state: RunState, run: TaskRun) -> bool:
        """Whether `code_pending` would answer without waiting."""
        return not self._reads_git(state, run) or self.checkouts.settled(self.run_dir,
                                                                         run.repair)

    def code_output(self, state: RunState, run: TaskRun) -> dict[str, object]:
        """What an attempt that read from Git adds to its output: the `git_source` it read,
        with the commit it used (`git_snapshot`)."""
        source = self.settings.git_source
        if source is None or not self._reads_git(state, run):
            return {}
        snapshot = self.checkouts.made(self.run_dir, run.repair)
        if snapshot is None:
            return {}
        return {"git_source": {**source.model_dump(mode="json", exclude_none=True),
                               "git_snapshot": {"used_commit": snapshot.used_commit}}}

    def _reads_git(self, state: RunState, run: TaskRun) -> bool:
        return reads_git(state.task_of(run).spec, self.settings)

    @property
    def run_dir(self) -> Path:
        return self.logs_dir / str(self.record.run_id)

    def environment_of(self, spec: Task) -> Mapping[str, object] | None:
        """The spec of the environment the task runs in: the job environment it names with
        `environment_key`, with its `libraries` installed too (`core/spec_libraries.py`); a
        `/Workspace/...` dependency is the workspace folder's file."""
        environment = with_libraries(self._named_environment(spec), spec.libraries)
        if environment is None or self.workspace_dir is None:
            return environment
        return in_workspace_folder(environment, str(self.workspace_dir))

    def _named_environment(self, spec: Task) -> Mapping[str, object] | None:
        """The `spec` of the job environment the task names with `environment_key`."""
        if spec.environment_key is None:
            return None
        for environment in self.record.job.settings.get("environments") or []:  # type: ignore[attr-defined]
            if environment.get("environment_key") == spec.environment_key:
                found: Mapping[str, object] = environment.get("spec") or {}
                return found
        raise InvalidRequest(f"task {spec.task_key!r} names environment "
                             f"{spec.environment_key!r}, which the job does not define")

    def variables_of(self, spec: Task, new_cluster: Mapping[str, object]) -> dict[str, str]:
        """The environment variables of the task's cluster (`spark_env_vars`), under those it
        selects with `environment_variables_key`, its `.env` files read now, as each attempt
        starts (`core/task_variables.py`).

        Raises:
            InvalidRequest: for an entry the job does not define, or a file that cannot be
                read or breaks the format (naming file and line).
        """
        entry = selected_entry(self.settings, spec)
        files = [self._env_file(written) for written in entry.files] if entry else []
        return merged_variables([cluster_variables(new_cluster), *files],
                                entry.variables if entry else {})

    def _env_file(self, written: str) -> dict[str, str]:
        path = Path(self.record.workdir) / written  # an absolute path stays as written
        try:
            content = path.read_bytes()
        except OSError as error:
            raise InvalidRequest(f"environment variables file {written!r} cannot be read: "
                                 f"{error.strerror} ({path})") from None
        return parse_env_file(content, written)

    def context_file(self, state: RunState, ids: Mapping[int, int], run: TaskRun, spec: Task,
                     parameters: Mapping[str, str]) -> dict[str, object]:
        """What the in-task runtime reads: who it is (and whose run), its parameters, the tasks
        upstream of it (an iteration: of its for-each) and the values they set, which are the
        only ones `taskValues.get` may read."""
        loop_key = run.task_key if run.parent_seq is None else \
            state.task_runs[run.parent_seq].task_key
        upstream_tasks = state.plan.upstream_closure(loop_key)
        upstream = {key: json.loads(values) for key, seq in state.latest.items()
                    if key in upstream_tasks and (values := state.task_runs[seq].values)}
        return {
            "job_id": self.record.job.job_id, "job_name": self.record.job.name,
            "user": self.user, "run_id": self.record.run_id, "task_run_id": ids[run.seq],
            "task_key": run.task_key, "attempt_number": run.attempt_number,
            "iteration": run.iteration, "job_parameters": dict(parameters),
            "task_parameters": task_parameters(spec), "task_values": upstream,
            "upstream_tasks": sorted(upstream_tasks),
        }

    def inline(self, state: RunState, ids: Mapping[int, int], seq: int,
               now: datetime) -> list[Event]:
        """Evaluate a condition or expand a for-each's inputs."""
        run = state.task_runs[seq]
        try:
            _, spec, _, resolved = self.resolved(state, ids, run)
        except ReferenceError as error:
            return [TaskFailed(now, seq, str(error), retryable=False)]
        return inline_events(spec, seq, now, resolved)

    def launch(self, state: RunState, ids: Mapping[int, int], run: TaskRun,
               executor: Executor, key: AttemptKey, now: Callable[[], datetime]) -> list[Event]:
        """Start a process for the attempt, or say why it could not start."""
        try:
            task, spec, parameters, resolved = self.resolved(state, ids, run)
            runner = self.runners.get(task.kind)
            if runner is None:
                return [TaskFailed(now(), run.seq, f"headwater cannot run {task.kind} tasks yet")]
            directory = attempt_dir(self.logs_dir, self.record.run_id, run)
            cluster = cluster_for(self.settings, task.spec)
            context = TaskContext(
                run_id=self.record.run_id, task_run_id=ids[run.seq], task_key=run.task_key,
                attempt_number=run.attempt_number, job_id=self.record.job.job_id,
                job_name=self.record.job.name, workdir=Path(self.record.workdir),
                log_path=directory / OUTPUT_LOG, parameters=parameters, attempt_dir=directory,
                environment=self.environment_of(spec),
                variables=self.variables_of(spec, cluster.new_cluster if cluster else {}),
                code_dir=self.code_dir(state, run), workspace_dir=self.workspace_dir,
            )
            launch = runner.launch_spec(spec, context)
            files = {CONTEXT: json.dumps(self.context_file(state, ids, run, spec, parameters))}
            # Last, so that no variable the job sets can widen what its tasks may read.
            env = {**launch.env, **self.secret_environment()}
            # Stamped before the launch: a quick task may end (its parent records the end)
            # before `launch` returns, and its end must never come before its start.
            started = now()
            timeout = task.timeout.total_seconds() if task.timeout else None
            handle = executor.launch(key, replace(launch, files={**launch.files, **files},
                                                  cluster=cluster, env=env,
                                                  timeout_seconds=timeout))
        except StoreError:
            raise  # not the task's fault: the engine lets the run go and it is claimed again
        except ReferenceError as error:
            return [TaskFailed(now(), run.seq, could_not_start(error),
                               retryable=False)]
        except (HeadwaterError, OSError) as error:
            return [TaskFailed(now(), run.seq, could_not_start(error))]
        return [TaskStarted(started, run.seq, handle, resolved)]

