"""Run a Python command line in this process, as a new interpreter would run it.

The fork server (`zygote.py`) forks a child per attempt; the child, already an interpreter
with its modules imported, runs the attempt's `python [options] (FILE | -m MODULE | -c CODE)
ARGS...` through `run`, which does what CPython's `Py_RunMain` does for that command line:

- `sys.argv`, `sys.orig_argv` and `sys.path[0]` as the interpreter sets them: the script's
  directory (symbolic links resolved), the working directory for `-m`, `''` for `-c`; nothing
  under `-P`/`PYTHONSAFEPATH`;
- a fresh `__main__` module (`__file__`, `__loader__`, `__builtins__`, `__annotations__`...),
  the code compiled without inheriting our `__future__` flags; `-m` goes through
  `runpy._run_module_as_main`, as the interpreter's own `-m` does;
- the exit: `SystemExit` by its code (a message is printed, code 1), an uncaught exception
  printed by `sys.excepthook` without our frame (code 1), an uncaught KeyboardInterrupt ends
  the process by SIGINT once the exit handlers ran. `run` returns the code: the caller lets the
  interpreter finalize normally (threads joined, atexit, objects freed), as after a script.

Standard library only, and nothing at module level but definitions: this module is loaded in
the fork server under a private name (see `zygote.py`) and removed from `sys.modules` before
the task's code runs.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import ctypes
import gc
import importlib
import importlib.machinery
import importlib.util
import os
import signal
import sys
import types
from collections.abc import Collection
from typing import NoReturn

__all__ = ["INTERRUPTED", "OPTIONS", "PythonCommand", "finish", "parse", "run"]

# Options that take no value and change neither `sys.path` nor what runs: a fork server
# started with the same ones gives the task the same interpreter.
_ZIP = b"PK\x03\x04"
OPTIONS = frozenset({"-u", "-B", "-O", "-OO", "-s", "-E", "-b", "-bb", "-q"})


class PythonCommand:
    """A parsed `python [options] (FILE | -m MODULE | -c CODE) ARGS...` command line."""

    __slots__ = ("args", "argv", "kind", "options", "target")

    def __init__(self, argv: list[str], options: list[str], kind: str, target: str,
                 args: list[str]) -> None:
        self.argv = argv  # the whole command line, as given
        self.options = options  # each as written, from OPTIONS
        self.kind = kind  # "file", "module" or "code"
        self.target = target  # the file, the module's name or the code
        self.args = args

    @property
    def interpreter(self) -> str:
        return self.argv[0]


def parse(argv: list[str]) -> PythonCommand | None:
    """The command line if `run` runs it as the interpreter would; None otherwise.

    Options come one per word, from `OPTIONS`; anything else (`-I`, `-X`, `-W`, `-i`, `-` for
    stdin, options after `-m`'s module are the module's) is left to a real interpreter.
    """
    for index in range(1, len(argv)):
        word = argv[index]
        if word in ("-m", "-c"):
            if index + 1 >= len(argv):
                return None
            kind = "module" if word == "-m" else "code"
            return PythonCommand(argv, argv[1:index], kind, argv[index + 1], argv[index + 2:])
        if word not in OPTIONS:
            if word.startswith("-"):
                return None
            return PythonCommand(argv, argv[1:index], "file", word, argv[index + 1:])
    return None


def _fresh_main() -> types.ModuleType:
    """A `__main__` module as the interpreter creates it, before anything runs in it."""
    main = types.ModuleType("__main__")
    main.__dict__.update({"__annotations__": {}, "__builtins__": builtins,
                          "__loader__": importlib.machinery.BuiltinImporter})
    sys.modules["__main__"] = main
    return main


def _set_path0(entry: str) -> None:
    """Put the command's first `sys.path` entry in front, unless `-P` says not to."""
    if not sys.flags.safe_path:
        sys.path.insert(0, entry)


def _prepare(command: PythonCommand) -> tuple[types.ModuleType, types.CodeType | None]:
    """Set argv, path and `__main__` for the command; the code to run (None for `-m`)."""
    sys.orig_argv = list(command.argv)
    main = _fresh_main()
    if command.kind == "module":
        sys.argv = ["-m", *command.args]  # runpy puts the module's file in argv[0]
        _set_path0(os.getcwd())
        return main, None
    if command.kind == "code":
        sys.argv = ["-c", *command.args]
        _set_path0("")
        return main, compile(command.target, "<string>", "exec", dont_inherit=True)
    path = os.path.abspath(command.target)
    with open(command.target, "rb") as file:
        source = file.read()
    if source.startswith((_ZIP, importlib.util.MAGIC_NUMBER)) or path.endswith(".pyc"):
        _exec_interpreter(command)  # a zip application or compiled code: the interpreter's
    sys.argv = [command.target, *command.args]
    _set_path0(os.path.dirname(os.path.realpath(command.target)))
    main.__dict__.update({"__file__": path, "__cached__": None,
                          "__loader__": importlib.machinery.SourceFileLoader("__main__", path)})
    return main, compile(source, path, "exec", dont_inherit=True)


def _exec_interpreter(command: PythonCommand) -> None:
    """Become a new interpreter for what only it runs (the environment is the task's by now)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(command.interpreter, command.argv)  # noqa: S606 - the task's own command line


def _execute(command: PythonCommand) -> None:
    """Run the command's code; its exceptions propagate."""
    try:
        main, code = _prepare(command)
    except IsADirectoryError:  # a directory with a __main__.py
        _exec_interpreter(command)
        raise
    except OSError as error:  # what the interpreter says of a file it cannot open
        sys.stderr.write(f"{command.interpreter}: can't open file "
                         f"{os.path.abspath(command.target)!r}: [Errno {error.errno}] "
                         f"{error.strerror}\n")
        raise SystemExit(2) from None
    if code is None:
        import runpy  # as the interpreter does: only for -m

        runpy._run_module_as_main(command.target, alter_argv=True)  # type: ignore[attr-defined]
    else:
        exec(code, main.__dict__)  # noqa: S102 - the task's own code, in its own process


def _without_our_frames(trace: types.TracebackType | None) -> types.TracebackType | None:
    while trace is not None and trace.tb_frame.f_code.co_filename == __file__:
        trace = trace.tb_next
    return trace


class _Interrupted:
    """The outcome of a task that an uncaught KeyboardInterrupt stopped."""


INTERRUPTED = _Interrupted()


def run(command: PythonCommand) -> object:
    """Run `command` here; its outcome for `finish`: a `SystemExit`'s code as it is, 0 when
    it ran to its end, 1 after an uncaught exception (printed by `sys.excepthook`, without
    our frames), `INTERRUPTED` after an uncaught KeyboardInterrupt."""
    importlib.invalidate_caches()
    try:
        _execute(command)
    except SystemExit as error:
        return error.code
    except BaseException as error:  # every exception ends the task, as at the top
        trace = _without_our_frames(error.__traceback__)
        sys.excepthook(type(error), error.with_traceback(trace), trace)
        return INTERRUPTED if isinstance(error, KeyboardInterrupt) else 1
    return 0


def _status(outcome: object) -> int:
    """The exit status of an outcome, as `handle_system_exit` makes it."""
    if outcome is None:
        return 0
    if isinstance(outcome, int):
        return outcome & 0xFF
    if outcome is INTERRUPTED:
        return 1
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{outcome}\n")
    return 1


def _flush_standard_streams() -> bool:
    """Flush stdout and stderr as finalization does; False when stdout could not be."""
    flushed = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception:
            flushed = stream is not sys.stdout and flushed
            with contextlib.suppress(Exception):
                sys.excepthook(*sys.exc_info())
    return flushed


def finish(outcome: object, known_modules: Collection[str]) -> NoReturn:
    """End the process as the interpreter's finalization would, then `_exit`.

    The steps a task can observe, in `Py_FinalizeEx`'s order: wait for the threads that are
    not daemons, run the `atexit` functions, flush stdout and stderr (code 120 if stdout
    fails), then free what the task made: `__main__` and the modules it imported are cleared,
    last imported first, and a collection runs the finalizers (an open file's buffer reaches
    its file). C `stdio` buffers are flushed. What is left is the fork server's, which the
    task shares with no one: tearing it down would only copy it page by page (~10 ms, as
    much as starting an interpreter), so `_exit` skips that.
    """
    status = _status(outcome)
    if "threading" in sys.modules:
        sys.modules["threading"]._shutdown()
    atexit._run_exitfuncs()
    if not _flush_standard_streams():
        status = 120
    made = [name for name in sys.modules if name not in known_modules]
    for name in ["__main__", *reversed(made)]:
        module = sys.modules.get(name)
        if isinstance(module, types.ModuleType):
            _clear(module.__dict__)
    gc.collect()
    _flush_standard_streams()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)
    if outcome is INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


def _clear(namespace: dict[str, object]) -> None:
    """Clear a module's namespace as finalization does: names with `_` first, then the
    others, `__builtins__` kept (finalizers may still need it)."""
    for first in (True, False):
        for name in list(namespace):
            if name.startswith("_") == first and name != "__builtins__":
                namespace[name] = None
