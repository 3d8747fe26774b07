"""The child side of a `python_operator_task`: import `main` and call it with keyword arguments.

    python -m headwater.entrypoints.operator <pkg.module.function> <kwargs json>

`main` is a dotted path: the longest importable module prefix, then attributes. A function is
called with the parameters as keyword arguments (all strings, as resolved). A class is
instantiated with them; if the instance is callable it is then called without arguments. A
returned value other than None is written to result.json as
`operator_output: {"result": str(value) (first 5 MB), "truncated": bool}`.

The job's directory is the working directory and, through `-m`, the first entry of
`sys.path`: a job's own modules can be named. A missing module or attribute, or an exception
in the call, fails the task: `error` and `error_trace` in result.json, exit code 1.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable, Sequence

from headwater.runtime import channel
from headwater.runtime.api import MAX_NOTEBOOK_RESULT_BYTES

__all__ = ["LookupFailed", "exception_line", "find_callable", "main", "report_failure"]

_OWN_PREFIX = __file__.rsplit("/", 1)[0] + "/"  # our frames are left out of traces


class LookupFailed(Exception):  # a report for the task's result, not a bug
    """Raised when a dotted path names no importable callable."""


def find_callable(dotted: str) -> Callable[..., object]:
    """The object `dotted` names: the longest importable module prefix, then attributes.

    Raises:
        LookupFailed: when no prefix imports, an attribute is missing, or the object cannot be
            called; the message names what was tried. An exception raised while importing
            the module itself propagates.
    """
    parts = dotted.split(".")
    if not all(parts):
        raise LookupFailed(f"{dotted!r} is not a dotted path like 'package.module.function'")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            target: object = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and (module_name + ".").startswith(error.name + "."):
                continue  # this prefix is not a module; try a shorter one
            raise
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                raise LookupFailed(f"{dotted!r}: module {module_name!r} has no attribute "
                                   f"{'.'.join(parts[split:])!r}")
            target = getattr(target, attribute)
        if not callable(target):
            raise LookupFailed(f"{dotted!r} is a {type(target).__name__}, not a callable")
        return target
    raise LookupFailed(f"{dotted!r}: no module {parts[0]!r} (sys.path: {sys.path[:4]} ...); "
                       "install its package or put it in the job directory")


def exception_line(error: BaseException) -> str:
    """`ValueError: bad row`: the exception's class name and message, as result.json's error."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def report_failure(error: BaseException) -> int:
    """Write `error` and its trace to result.json and stderr; the exit code 1."""
    summary = traceback.TracebackException.from_exception(error)
    summary.stack = traceback.StackSummary.from_list(
        [f for f in summary.stack if not f.filename.startswith(_OWN_PREFIX)])
    line = exception_line(error)
    trace = "".join(summary.format())
    channel.update_result({"error": line, "error_trace": trace})
    print(trace, file=sys.stderr, end="")
    return 1


def _output(value: object) -> dict[str, object]:
    text = str(value)
    encoded = text.encode()
    truncated = len(encoded) > MAX_NOTEBOOK_RESULT_BYTES
    if truncated:
        text = encoded[:MAX_NOTEBOOK_RESULT_BYTES].decode(errors="ignore")
    return {"result": text, "truncated": truncated}


def main(argv: Sequence[str]) -> int:
    """Call the operator; 0 on success, 1 when it is missing or raised, 2 on bad arguments."""
    if len(argv) != 2:
        print("usage: python -m headwater.entrypoints.operator MAIN KWARGS_JSON",
              file=sys.stderr)
        return 2
    try:
        function = find_callable(argv[0])
        result = function(**json.loads(argv[1]))
        if isinstance(function, type) and callable(result):
            result = result()
    except Exception as error:
        return report_failure(error)
    if result is not None:
        channel.update_result({"operator_output": _output(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
