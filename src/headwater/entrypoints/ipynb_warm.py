"""The warm side of `.ipynb` tasks: what their fork server imports before it serves
(`LaunchSpec.preload`), and the kernel that a task forks from what it imported.

A task forked from that fork server finds its notebook libraries imported: nbformat with
the schema validators of common versions built, nbclient, jupyter_client, this package's
notebook entry point, ipykernel and what its kernel imports as it starts (IPython, sqlite3 for
the history), but not its debugger. `headwater.entrypoints.ipynb_kernel` forks the kernel
only where this module was imported; the child runs `run_kernel`.

Importing this module starts no thread, event loop or socket, none of which a fork carries.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import os
import sys
import tempfile

# A notebook task has no debugger client: its kernels are built without ipykernel's debugger,
# which would import debugpy (~130 ms, with warnings about frozen modules). Only while
# ipykernel looks for it: a notebook's own `import debugpy` finds it.
_hide_debugpy = "debugpy" not in sys.modules
if _hide_debugpy:
    sys.modules["debugpy"] = None  # type: ignore[assignment]
try:
    import ipykernel.debugger  # noqa: F401
finally:
    if _hide_debugpy:
        del sys.modules["debugpy"]

import sqlite3  # noqa: E402,F401

import IPython.core.completerlib  # noqa: E402 - this and the next: what IPython's shell
import IPython.core.debugger  # noqa: E402 - imports as it starts
import IPython.core.oinspect  # noqa: E402
import IPython.extensions.storemagic  # noqa: E402
import IPython.utils.wildcard  # noqa: E402,F401
import nbclient  # noqa: E402,F401
import nbformat  # noqa: E402
import nbformat.validator  # noqa: E402
import tornado.platform.asyncio  # noqa: E402,F401
from ipykernel.kernelapp import IPKernelApp  # noqa: E402
from traitlets.config import Config  # noqa: E402

from headwater.entrypoints import databricks_source, ipynb_cells, ipynb_kernel, operator, sql  # noqa: E402,F401

# nbformat builds a notebook version's schema validator on first use (~25 ms each): those of
# 4.5 (what Jupyter writes now) and 4.0 (what Databricks exports) are built here.
for _minor in (0, nbformat.v4.nbformat_minor):
    nbformat.validator.get_validator(4, _minor)  # type: ignore[no-untyped-call]
tempfile.gettempdir()  # found once (it tries to write in each candidate) for every task
# What is here now lives as long as the fork server: out of the collector's sight, a task's
# and a kernel's collections no longer walk it (~15 ms each).
gc.freeze()

__all__ = ["run_kernel"]

_LAUNCHER = "ipykernel_launcher"


class _AttemptKernelApp(IPKernelApp):
    """The ipykernel app, configured by its `config` rather than a command line."""

    def parse_command_line(self, argv: list[str] | None = None) -> None:
        # Building the parser of every option costs ~50 ms, for options that are all given.
        self.argv = []


def run_kernel(connection_file: str, task_pid: int, extension: str) -> None:
    """Be the attempt's kernel, in a child that the task forked: what `python -m
    ipykernel_launcher -f CONNECTION_FILE --IPKernelApp.extensions=EXTENSION
    --HistoryManager.hist_file=:memory:` does in a new interpreter. Returns when the kernel
    was shut down; the caller then `_exit`s."""
    os.setsid()  # as jupyter_client starts a kernel: an interrupt signals its group only
    atexit._clear()  # the task's exit functions are the task's, not the kernel's
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    launcher = importlib.util.find_spec(_LAUNCHER)
    sys.argv = [launcher.origin if launcher and launcher.origin else _LAUNCHER,
                "-f", connection_file]
    config = Config({
        "IPKernelApp": {"connection_file": connection_file, "extensions": [extension],
                        "parent_handle": task_pid},  # the kernel ends if the task goes
        "HistoryManager": {"hist_file": ":memory:"},  # as nbclient asks of a kernel
    })
    app = _AttemptKernelApp.instance(config=config)
    app.initialize([])  # type: ignore[no-untyped-call]
    app.start()  # type: ignore[no-untyped-call]
    atexit._run_exitfuncs()  # IPython's (it frees the namespace: files flushed), the cells'
