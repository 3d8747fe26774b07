"""The child side of a `python_wheel_task`: call an installed distribution's entry point.

    python -m headwater.entrypoints.wheel <package_name> <entry_point> [ARGS...]

The entry point is looked up in the distribution's metadata (`importlib.metadata`), in the
group `console_scripts` first, then `gui_scripts`, then any other group. As on Databricks, a
name that no entry point has is tried as a function of the package's top-level module
(`<package_name>.<entry_point>`, with `-` read as `_`). The function is called without
arguments, `sys.argv` being `[<package_name>, *ARGS]`; a returned int is the exit code (like a
console script's `sys.exit(main())`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from headwater.entrypoints.operator import LookupFailed, report_failure

__all__ = ["find_entry_point", "main"]

_PREFERRED_GROUPS = ("console_scripts", "gui_scripts")


def find_entry_point(package_name: str, entry_point: str) -> Callable[..., object]:
    """The callable `entry_point` of the installed distribution `package_name`.

    Raises:
        LookupFailed: when the distribution is not installed, or has no such entry point and
            its module no such function; the message lists the entry points it has.
    """
    try:
        distribution = metadata.distribution(package_name)
    except metadata.PackageNotFoundError:
        raise LookupFailed(f"package {package_name!r} is not installed in {sys.prefix} "
                           "(install its wheel into the task's environment)") from None
    points = [p for p in distribution.entry_points if p.name == entry_point]
    points.sort(key=lambda p: (*_PREFERRED_GROUPS, p.group).index(p.group))
    if points:
        loaded: Callable[..., object] = points[0].load()
        return loaded
    module_name = package_name.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        module = None
    function = getattr(module, entry_point, None)
    if callable(function):
        return function  # type: ignore[no-any-return]
    names = sorted({f"{p.group}:{p.name}" for p in distribution.entry_points}) or ["none"]
    raise LookupFailed(f"package {package_name!r} has no entry point {entry_point!r} and "
                       f"{module_name}.{entry_point} is not a function; its entry points: "
                       f"{', '.join(names)}")


def main(argv: Sequence[str]) -> int:
    """Run the entry point; its exit code, 1 when it is missing or raised."""
    if len(argv) < 2:
        print("usage: python -m headwater.entrypoints.wheel PACKAGE ENTRY_POINT [ARGS...]",
              file=sys.stderr)
        return 2
    sys.argv = [argv[0], *argv[2:]]
    try:
        result = find_entry_point(argv[0], argv[1])()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except Exception as error:
        return report_failure(error)
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
