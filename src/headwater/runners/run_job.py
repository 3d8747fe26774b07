"""`RunJobRunner`: a `run_job_task` starts another job and waits for it, in a child process.

The child is `python -m headwater runs run-child ...`: a headwater engine of its own, on the
same state store, that creates the child run (trigger `RUN_JOB_TASK`), drives it, writes
`run_job_output.run_id` to the attempt's result.json and exits 0 when the child run ended
SUCCESS or SUCCESS_WITH_FAILURES, 1 otherwise. Because it is a process like any other, the
task's timeout and a cancel reach the child run too (SIGTERM cancels it, cleanup tasks run).

Run Job tasks nest at most 3 deep and never in a cycle: the chain of job ids above travels in
`HEADWATER_RUN_JOB_CHAIN`, and the child refuses a job already on it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from headwater.core.spec import Task
from headwater.core.task_parameters import given
from headwater.errors import InvalidRequest
from headwater.ports import LaunchSpec, TaskContext
from headwater.runners.environment import attempt_environment

__all__ = ["CHAIN_VARIABLE", "MAX_DEPTH", "RunJobRunner"]

CHAIN_VARIABLE = "HEADWATER_RUN_JOB_CHAIN"
MAX_DEPTH = 3


class RunJobRunner:
    """Builds the launch of a `run_job_task`; implements `headwater.ports.Runner`."""

    def __init__(self, db_url: str, chain: Sequence[int] = (),
                 python: str = sys.executable) -> None:
        self._db_url, self._chain, self._python = db_url, tuple(chain), python

    def launch_spec(self, task: Task, context: TaskContext) -> LaunchSpec:
        """The child engine's command line; `InvalidRequest` past the nesting limit."""
        settings = task.run_job_task
        if settings is None:
            raise InvalidRequest(f"task {task.task_key!r} has no run_job_task")
        chain = (*self._chain, context.job_id)
        if len(chain) > MAX_DEPTH:
            raise InvalidRequest(f"task {task.task_key!r}: Run Job tasks nest at most "
                                 f"{MAX_DEPTH} levels deep (jobs above: {chain})")
        if settings.job_id is not None:
            target = ["--job-id", str(settings.job_id)]
        elif settings.job_name:
            target = ["--job-name", settings.job_name]
        else:
            raise InvalidRequest(f"task {task.task_key!r}: run_job_task needs job_id or job_name")
        legacy = given(settings)
        argv = [self._python, "-m", "headwater", "runs", "run-child", *target,
                "--parameters", json.dumps(settings.job_parameters),
                *(["--task-parameters", json.dumps(legacy)] if legacy else []),
                "--parent-task-run", str(context.task_run_id), "--db", self._db_url]
        environment = attempt_environment(context)
        environment[CHAIN_VARIABLE] = ",".join(str(job) for job in chain)
        return LaunchSpec(argv=argv, env=environment, cwd=context.workdir,
                          log_path=context.log_path, python=True)
