"""Which references a simulated run can resolve, and resolving them as the engine does.

A simulation knows the job's name, its parameters (unless a parameter's value holds a
reference itself: those are resolved against the real run), and of every task that ended its
`result_state`, `error_code` and `execution_count`. It cannot know task values, ids, times,
the trigger or the workspace: an operand that needs one is *unknown*, and the caller assumes.
References outside Lakeflow's namespaces stay literal text, as in a real run.
"""

from __future__ import annotations

from collections.abc import Mapping

from headwater.core.checks_refs import task_fields
from headwater.core.refs import RefContext, ReferenceError, find_references, resolve
from headwater.core.refs_facts import execution_count, task_facts
from headwater.core.runstate import RunState, TaskRun
from headwater.core.simulation import T0
from headwater.core.spec import Task

KNOWN_TASK_FIELDS = frozenset({"result_state", "error_code", "execution_count"})


def unknown_reference(text: str, parameters: Mapping[str, str]) -> str | None:
    """The first reference in `text` a simulation cannot resolve, or None if it can all be."""
    for reference in find_references(text):
        if not reference.is_known or _knowable(reference.namespace, reference.parts,
                                               parameters):
            continue
        return reference.raw
    return None


def _knowable(namespace: str, parts: tuple[str, ...], parameters: Mapping[str, str]) -> bool:
    if namespace == "job" and parts == ("name",):
        return True
    if namespace == "job" and len(parts) == 2 and parts[0] == "parameters":
        value = parameters.get(parts[1])  # an undeclared one fails the task, as in a real run
        return value is None or not any(r.is_known for r in find_references(value))
    return namespace == "tasks" and len(parts) == 2 and parts[1] in KNOWN_TASK_FIELDS


def resolve_known(spec: Task, job_name: str, parameters: Mapping[str, str], state: RunState,
                  run: TaskRun) -> Task:
    """A condition's operands or a for-each's inputs with their references resolved.

    Call it only when `unknown_reference` found none in them.

    Raises:
        ReferenceError: as a real run would, for a reference that names nothing.
    """
    context = _context(job_name, parameters, state, run)
    if spec.condition_task is not None:
        condition = spec.condition_task
        resolved = condition.model_copy(update={"left": resolve(condition.left, context),
                                                "right": resolve(condition.right, context)})
        return spec.model_copy(update={"condition_task": resolved})
    loop = spec.for_each_task
    assert loop is not None
    inputs = loop.model_copy(update={"inputs": resolve(loop.inputs, context)})
    return spec.model_copy(update={"for_each_task": inputs})


def unrun_reference(spec: Task, job_name: str, parameters: Mapping[str, str],
                    state: RunState, run: TaskRun) -> ReferenceError | None:
    """The error of the first reference in the task's fields to what a task that ended
    without running (excluded, upstream failed) would have made, its values or its output:
    a simulation knows that no such thing exists, and a real run fails the task as it starts."""
    context = None
    for _, text in task_fields("", spec):
        for reference in find_references(text):
            parts = reference.parts
            if reference.namespace != "tasks" or len(parts) < 2 or \
                    parts[1] not in ("values", "output") or parts[0] not in state.latest:
                continue
            result = state.task_runs[state.latest[parts[0]]].result
            if result is None or result.ran:
                continue  # what a task that ran made is not known here
            context = context or _context(job_name, parameters, state, run)
            try:
                resolve(reference.raw, context)
            except ReferenceError as error:
                return error
    return None


def _context(job_name: str, parameters: Mapping[str, str], state: RunState,
             run: TaskRun) -> RefContext:
    """What a reference may name; the parts a simulation cannot know are never asked for."""
    return RefContext(
        job_id=0, job_name=job_name, run_id=0, repair_count=0,
        start_time=state.start_time or T0, trigger_type="ONE_TIME", trigger_time=None,
        file_arrival_location=None, parameters=parameters, tasks=task_facts(state, {}),
        task_key=run.task_key, task_run_id=None, execution_count=execution_count(state, run),
        retry_count=run.attempt_number, input=None, workspace_id="", workspace_url="",
        notebook_path=None)


__all__ = ["KNOWN_TASK_FIELDS", "resolve_known", "unknown_reference", "unrun_reference"]
