"""The environment every runner gives an attempt: who it is, and the run's parameters.

Parameters reach a task as environment variables, never spliced into a command or code:
the value arrives byte for byte, whatever quotes, `$(...)`, backticks or newlines it holds.

Naming rule, one for all parameters: `HEADWATER_PARAM_` + the name with every character
outside `A-Z a-z 0-9` replaced by `_`, upper-cased. `table` becomes `HEADWATER_PARAM_TABLE`,
`run-date` becomes `HEADWATER_PARAM_RUN_DATE`. Two names that map to the same variable are an
error. Context variables (`HEADWATER_RUN_ID`, ...) come last, so neither a task's `env` nor a
parameter can fake them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from headwater.core.task_environment import PARAMETER_PREFIX, parameter_variable
from headwater.errors import InvalidRequest
from headwater.ports import TaskContext

__all__ = ["PARAMETER_PREFIX", "attempt_environment", "parameter_variable"]

# Where `dbruntime` lives, so that `from databricks.sdk.runtime import dbutils` finds headwater's
# (see headwater.runtime.shims.dbruntime).
SHIMS = Path(__file__).resolve().parent.parent / "runtime" / "shims"


def context_variables(context: TaskContext) -> dict[str, str]:
    """The variables that tell a task which run, task and attempt it is."""
    variables = {
        "HEADWATER_RUN_ID": str(context.run_id),
        "HEADWATER_TASK_RUN_ID": str(context.task_run_id),
        "HEADWATER_TASK_KEY": context.task_key,
        "HEADWATER_ATTEMPT": str(context.attempt_number),
        "HEADWATER_JOB_ID": str(context.job_id),
        "HEADWATER_JOB_NAME": context.job_name,
    }
    if context.attempt_dir is not None:
        variables["HEADWATER_ATTEMPT_DIR"] = str(context.attempt_dir)
    return variables


def parameter_variables(context: TaskContext) -> dict[str, str]:
    """The run's resolved parameters as `HEADWATER_PARAM_*` variables."""
    variables: dict[str, str] = {}
    origin: dict[str, str] = {}
    for name, value in context.parameters.items():
        variable = parameter_variable(name)
        if variable in origin:
            raise InvalidRequest(
                f"task {context.task_key!r}: parameters {origin[variable]!r} and {name!r} "
                f"both map to the environment variable {variable}; rename one of them"
            )
        origin[variable] = name
        variables[variable] = value
    return variables


def _check(environment: Mapping[str, str], task_key: str) -> None:
    """Reject what the operating system cannot carry in an environment."""
    for name, value in environment.items():
        if not name or "=" in name or "\0" in name:
            raise InvalidRequest(
                f"task {task_key!r}: {name!r} is not a valid environment variable name "
                "(it must be non-empty, without '=' or NUL)"
            )
        if "\0" in value:
            raise InvalidRequest(
                f"task {task_key!r}: the value of {name} contains a NUL byte, "
                "which an environment variable cannot carry"
            )


def attempt_environment(
    context: TaskContext, task_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The full environment a runner adds for one attempt: the job's environment variables
    the task selects, the task's own `env`, parameters, context; a later one wins.

    Raises:
        InvalidRequest: when a name or value cannot be passed in an environment, or two
            parameters map to the same variable.
    """
    environment = {**context.variables, **(task_env or {}), **parameter_variables(context),
                   **context_variables(context)}
    _check(environment, context.task_key)
    inherited = environment.get("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SHIMS), inherited]))
    return environment
