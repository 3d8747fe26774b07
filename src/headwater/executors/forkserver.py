"""Which attempts a fork server starts, and the fork servers of one executor.

A Python task (`LaunchSpec.python`) whose command line `pymain.parse` understands is started
by a fork server (`zygote.py`): a spawner run by the task's own interpreter with the task's
options, whose attempt parents fork the task from its warm interpreter instead of starting a
new one. The task gets what a new interpreter would have given it (see `pymain.py` and
`AttemptParent._become_task`); what differs is the time it takes.

One fork server serves the tasks of one *start-up environment*: the interpreter, its options,
and the environment variables an interpreter reads as it starts (`PYTHON*`, the locale's
`LANG`/`LC_*`, `HOME` for the user's site-packages). Those are fixed once an interpreter
runs, so a task that sets one differently gets a fork server of its own, started with them.
A task that asks for more preloaded modules (`LaunchSpec.preload`: an `.ipynb` notebook's
kernel libraries) gets one of its own too, so that other tasks do not carry them.
Every other variable is the task's own in the child (`os.environ` is replaced). A fork server
itself starts with the tasks' defined environment (`core/task_environment.py`), never the
engine's: what it was started with stays readable in /proc/<pid>/environ of every task it
forks, so a secret of the engine's must never be in it.

Everything else is spawned as before: shell tasks, a command line with other options
(`-I`, `-X ...`), an interpreter that is not the engine's Python build (itself or a venv
of it), or every task with `launch="spawn"` (`HEADWATER_LAUNCH=spawn`). A fork server that
cannot start or dies is replaced on the next launch, as the spawner is; one that fails twice
in a row is given up for its key, whose tasks are then spawned.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from headwater.executors import pymain
from headwater.executors.spawner import Spawner

__all__ = ["DEFAULT_PRELOAD", "LAUNCH_MODES", "PLACEHOLDER", "ForkServers", "start_up_variables"]

log = logging.getLogger(__name__)

LAUNCH_MODES = ("fork", "spawn")
DEFAULT_PRELOAD = ("headwater.runtime",)
# The value of the tag variable in a fork server's environment block, which each forked task
# overwrites with its tag (see `parent.ForkSetup`): room enough for any tag, matching none.
PLACEHOLDER = "-" * 160
_MAX_SERVERS = 4  # start-up environments kept warm at once; the least recently used goes
# The last word of a fork server's command line, blank: room for a forked task's own command
# line, which it writes over the server's so that `ps` shows it (see `parent.ForkSetup.show`).
COMMAND_LINE_ROOM = " " * 1024
_STARTUP_NAMES = frozenset({"LANG", "HOME"})
_ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote.py")  # not imported

ServerKey = tuple[str, tuple[str, ...], tuple[tuple[str, str], ...], tuple[str, ...]]


def _is_our_python(interpreter: str) -> bool:
    """Whether `interpreter` is the engine's Python build (itself, or a venv of it): a fork
    server runs our code (`zygote.py`), and only a Python of the same version surely can."""
    return os.path.isabs(interpreter) and os.access(interpreter, os.X_OK) \
        and _real(interpreter) == _real(sys.executable)


@functools.lru_cache(maxsize=64)
def _real(path: str) -> str:
    """`os.path.realpath`, remembered: it costs a system call per path part, per launch."""
    return os.path.realpath(path)


def start_up_variables(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of `env` that an interpreter reads as it starts."""
    return {name: value for name, value in env.items()
            if name.startswith(("PYTHON", "LC_")) or name in _STARTUP_NAMES}


class ForkServers:
    """The fork servers of one executor, by start-up environment; not thread-safe.

    Args:
        base_env: the environment every task starts with (the executor's `task_env`), which
            the fork servers start with too.
        preload: modules each fork server imports before it serves (after
            `headwater.runtime`): what every task then finds already imported.
        notice_fd: the executor's notice pipe (see `Spawner`).
        tag_variable: the name of the attempt tag variable (its value is a placeholder in
            the servers' environments).
    """

    def __init__(self, base_env: Mapping[str, str], preload: Sequence[str], notice_fd: int,
                 tag_variable: str) -> None:
        self._base_env = dict(base_env)
        self._preload = list(dict.fromkeys([*DEFAULT_PRELOAD, *preload]))
        self._notice_fd, self._tag_variable = notice_fd, tag_variable
        self._servers: OrderedDict[ServerKey, Spawner] = OrderedDict()
        self._failures: dict[ServerKey, int] = {}

    def server_for(self, argv: Sequence[str], env: Mapping[str, str],
                   preload: Sequence[str] = ()) -> Spawner | None:
        """The fork server that can start `argv` with the environment `env` (the task's
        whole environment), having imported `preload` too (`LaunchSpec.preload`); None
        when it must be spawned."""
        command = pymain.parse(list(argv))
        if command is None or not _is_our_python(command.interpreter):
            return None
        variables = start_up_variables(env)
        extra = tuple(name for name in dict.fromkeys(preload) if name not in self._preload)
        key: ServerKey = (command.interpreter, tuple(command.options),
                          tuple(sorted(variables.items())), extra)
        if self._failures.get(key, 0) >= 2:
            return None
        server = self._servers.get(key)
        if server is None:
            server = self._start(key, command.interpreter, command.options, variables, extra)
        self._servers.move_to_end(key)
        return server

    def _start(self, key: ServerKey, interpreter: str, options: Sequence[str],
               variables: Mapping[str, str], extra: Sequence[str]) -> Spawner:
        while len(self._servers) >= _MAX_SERVERS:
            _, oldest = self._servers.popitem(last=False)
            oldest.close()  # it exits at EOF; the attempts it started run on
        env = {**self._base_env, **variables, self._tag_variable: PLACEHOLDER}
        for name in set(start_up_variables(self._base_env)) - set(variables):
            del env[name]  # the task unsets it
        server = Spawner([interpreter, *options, _ZYGOTE], self._notice_fd,
                         [*self._preload, *extra, COMMAND_LINE_ROOM], env)
        self._servers[key] = server
        try:
            server.start()
        except OSError as error:
            log.warning("cannot start the fork server of %s: %s", interpreter, error)
        return server

    def failed(self, server: Spawner) -> None:
        """`server` failed a launch: it is started again next time, or given up after two."""
        for key, known in list(self._servers.items()):
            if known is server:
                self._failures[key] = self._failures.get(key, 0) + 1
                del self._servers[key]
                server.close()
                log.warning("the fork server of %s failed; its tasks are spawned %s", key[0],
                            "from now on" if self._failures[key] >= 2 else "until it restarts")

    def succeeded(self, server: Spawner) -> None:
        for key, known in self._servers.items():
            if known is server:
                self._failures.pop(key, None)

    def close(self) -> None:
        """Stop every fork server (each exits at EOF); the attempts they started run on."""
        for server in self._servers.values():
            server.close()
        self._servers.clear()
