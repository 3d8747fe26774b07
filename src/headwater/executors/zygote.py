"""The fork server: a warm interpreter that forks an attempt parent, and the parent's task.

    python [options] zygote.py serve <socket fd> <notice fd> [MODULE ...]

It is the spawner of `parent.py` (the same loop, the same attempt parents), started with the
interpreter, the options and the start-up environment of the Python tasks it serves, after
importing the MODULEs (`headwater.runtime` and those configured; a blank word among them
is room for a forked task's command line, see `ForkSetup.show`). A request that asks for a
fork makes the attempt parent start its task with `fork` instead of `posix_spawn`: the child
sets itself up as a spawned task process is set up (`AttemptParent._become_task`: session,
signals, descriptors, environment, tag), unwinds to this module's top (`BecomeTask`), drops
what is ours, runs the task's command line as the interpreter would (`pymain.run`), and ends
as the interpreter's finalization would (`pymain.finish`).

What a forked task shares with every other task of this server is what the server had
before the fork, and nothing else: it never runs a task itself, so nothing of one attempt
(module state, files, environment, working directory) can reach the next. Each child starts
from the same state: the modules imported here, already initialized.

Standard library only. `parent.py` and `pymain.py` are loaded under private names, and this
module's directory is left out of `sys.path`, so that a task's `import parent` finds its own.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

_HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path and sys.path[0] == _HERE:  # not a directory of the tasks'
    del sys.path[0]
_PRIVATE = ("_headwater_attempt_parent", "_headwater_pymain")
TAG_VARIABLE = "HEADWATER_ATTEMPT_TAG"  # as in local.py: the engine puts a placeholder here


def _load(name: str, file: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, file))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


parent = _load(_PRIVATE[0], "parent.py")
pymain = _load(_PRIVATE[1], "pymain.py")


def _open_descriptors() -> frozenset[int]:
    return frozenset(int(name) for name in os.listdir("/proc/self/fd"))


def _preload(modules: list[str]) -> frozenset[int]:
    """Import `modules`; the descriptors they left open (every task keeps them)."""
    before = _open_descriptors()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # a task that needs it fails in its own log, not here
            sys.stderr.write(f"headwater fork server: cannot preload {name!r}: {error!r}\n")
    sys.stderr.flush()
    return _open_descriptors() - before


def serve(argv: list[str]) -> tuple[list[str], frozenset[str]] | None:
    """Serve launch requests until EOF (None); in a forked task, its command line and the
    modules the server had as it started to serve (a set made in each task would touch, and
    so copy, the pages of every module's name)."""
    descriptors = parent.serve_arguments(argv[:3])
    if descriptors is None:
        sys.stderr.write("usage: python zygote.py serve <socket fd> <notice fd> [MODULE...]\n")
        raise SystemExit(2)
    modules = [word for word in argv[3:] if word.strip()]  # a blank word is room, not one
    setup = parent.ForkSetup(_preload(modules), TAG_VARIABLE)
    server = parent.Server(*descriptors, forking=setup)
    # After the server is built: it imports what it needs as it starts (`encodings.ascii`,
    # to read the boot id), and a task that finds more modules than these makes the set anew.
    imported = frozenset(sys.modules).difference(_PRIVATE)
    try:
        server.serve()
    except parent.BecomeTask as become:
        return list(become.argv), imported
    return None


def main() -> int:
    """Serve; the server's exit code. A forked task ends in `pymain.finish` instead."""
    served = serve(sys.argv[1:])
    if served is None:
        return 0
    argv, modules = served
    command = pymain.parse(argv)
    for name in _PRIVATE:
        del sys.modules[name]
    # The server's modules, unless it imported more as it served (modules are only added).
    known = modules if len(sys.modules) == len(modules) else frozenset(sys.modules)
    if command is None:  # the engine sends only what parses; should one not, a real one
        os.execv(argv[0], argv)  # noqa: S606 - the task's own command line
    pymain.finish(pymain.run(command), known)
    return 1  # never: `finish` ends the process


if __name__ == "__main__":
    sys.exit(main())
