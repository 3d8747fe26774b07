"""The kernel of an `.ipynb` attempt: a fresh ipykernel that serves this attempt only, forked
from the task's own warm process when it can be, else started as a new interpreter.

Where the time of an `.ipynb` task went (a one-cell notebook, ~770 ms over a script task, on
2 busy cores): importing nbformat, nbclient and jupyter_client in the task (~200 ms); a new
interpreter for the kernel importing ipykernel, IPython and debugpy (~300 ms); jupyter_client's
`wait_for_ready`, which after the kernel's first reply drains IOPub until it has been quiet
for 0.2 s (200 ms); building nbformat's schema validator (~30 ms). (The kernel was never shut
down: nbclient leaves a kernel it was handed, and the attempt parent killed it with the task.)

What is done instead (the issue's warm kernels, shape (a) of its design notes):

- `.ipynb` tasks have a fork server of their own, which imported `ipynb_warm` (everything
  above, validators built) besides `headwater.runtime`: the task starts with it all imported.
- `start` forks the kernel from the task process itself, first thing, before the task has
  an event loop, a ZMQ context or a thread (none of which may cross a fork); the child runs
  `ipynb_warm.run_kernel` on a new connection file. So the kernel is fresh for each attempt
  (it holds the fork server's state, never another attempt's), has the task's environment
  and working directory, and lives in the attempt's process tree: a timeout or a cancel kills
  it with the task, and an engine restart leaves it running with its task. A pool of kernels
  started ahead, outside the attempts (the issue's own words), would need the environment and
  working directory applied inside a running kernel, and kills and clean-up of its own
  outside the attempt's tree; the fork server is that pool, already warm, already managed.
- A new interpreter is started as before (`python -m ipykernel_launcher`) when `ipynb_warm`
  was not imported (`HEADWATER_LAUNCH=spawn`, or the fork server could not preload it), or
  when this process has threads or a running loop: forking then would be unsafe.
- Either kernel is waited for by what it sends rather than a quiet period (`ReadyClient`),
  gets `dbutils` and `%%sql` from an extension rather than a setup cell, and is killed with
  what it started once the notebook ran (`AttemptKernelManager.discard`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.connect import KernelConnectionInfo, write_connection_file
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_client.session import new_id_bytes
from traitlets import Unicode

__all__ = ["AttemptKernelManager", "ReadyClient", "start"]

_WARM = "headwater.entrypoints.ipynb_warm"
_REPLY_SECONDS = 1.0  # per kernel_info round; a kernel that is alive is asked again
_RECONNECT_MILLISECONDS = 10


class _ForkedKernel:
    """The forked kernel process, with what `LocalProvisioner` uses of a `Popen`."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped already
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:  # reaped already
                self.returncode = -1
            else:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _ForkedProvisioner(LocalProvisioner):
    """Hands jupyter_client the kernel that `start` forked instead of starting one."""

    forked: _ForkedKernel | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        assert self.forked is not None
        self.process = self.forked  # type: ignore[assignment]  # what it uses of a Popen
        self.pid = self.pgid = self.forked.pid  # it leads a session of its own
        self.cwd = kwargs.get("cwd")
        return self.connection_info


class _ThisPython(KernelSpecManager):
    """The kernel spec of a spawned kernel: this interpreter's ipykernel, which loads the IPython
    extension `extension` before it serves."""

    extension = Unicode("")

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                "{connection_file}", f"--IPKernelApp.extensions={self.extension}"],
                          display_name="headwater", language="python",
                          env={"PYDEVD_DISABLE_FILE_VALIDATION": "1"})  # debugpy: no warning


class ReadyClient(AsyncKernelClient):
    """A kernel client that is ready as soon as the kernel can be reached.

    jupyter_client's own `wait_for_ready`, after the kernel's reply to `kernel_info`, waits
    for IOPub to be quiet for 0.2 s; nbclient skips the IOPub messages of other requests, so
    that wait buys nothing. A forked kernel is this ipykernel, which (from 7 on) greets a
    subscriber on IOPub: that greeting is all there is to wait for (the shell socket queues
    what is sent before the kernel reads it). Another kernel is asked `kernel_info` until it
    answers on the shell channel and IOPub delivers.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        greets = getattr(self.parent, "forked", None) is not None and _greets_subscribers()
        while True:
            if greets and await self._message(self.iopub_channel):
                return
            if not greets:
                self.kernel_info()
                reply = await self._message(self.shell_channel)
                if reply and reply["msg_type"] == "kernel_info_reply" \
                        and await self._message(self.iopub_channel):
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before it could be reached")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    @staticmethod
    async def _message(channel: Any) -> dict[str, Any] | None:
        try:
            return await channel.get_msg(timeout=_REPLY_SECONDS)  # type: ignore[no-any-return]
        except Empty:
            return None


def _greets_subscribers() -> bool:
    """Whether this ipykernel sends `iopub_welcome` to a new IOPub subscriber (7 and later)."""
    version = getattr(sys.modules.get("ipykernel"), "version_info", (0,))
    return tuple(version[:1]) >= (7,)


class AttemptKernelManager(AsyncKernelManager):
    """The manager of the attempt's one kernel: forked by `start`, or spawned by nbclient."""

    forked: _ForkedKernel | None = None
    sockets: str | None = None  # the directory of the connection file and the sockets

    def _context_default(self) -> zmq.asyncio.Context:
        """One ZMQ context for the manager and its client (each would start one, ~5 ms),
        whose sockets try every 10 ms, not 100, to reach a kernel that is still binding."""
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, _RECONNECT_MILLISECONDS)  # for its sockets
        return context

    def client(self, **kwargs: Any) -> AsyncKernelClient:  # type: ignore[override]
        return super().client(context=self.context, **kwargs)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.forked is not None and self.provisioner is None:
            provisioner = _ForkedProvisioner(kernel_id=self.kernel_id, parent=self,
                                             kernel_spec=self.kernel_spec)
            provisioner.forked = self.forked
            self.provisioner = provisioner
        return await super()._async_pre_start_kernel(**kw)

    def write_connection_file(self, **kwargs: Any) -> None:
        if self.forked is None:  # a forked kernel has read the file `start` wrote before it
            super().write_connection_file(**kwargs)

    def discard(self) -> None:
        """After the notebook: kill the kernel and what it started, remove its sockets.

        As before: nbclient does not shut down a kernel it was handed, and a graceful
        shutdown of ipykernel may hang on its own threads (a flush racing the close). Once
        its last cell has run, nothing of the kernel is needed. It is not waited for: it dies
        while this process ends, and the attempt parent reaps it.
        """
        process = self.forked if self.forked is not None else \
            getattr(self.provisioner, "process", None)
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # it leads a session of its own
            except OSError:
                process.kill()
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)


def start(extension: str) -> AttemptKernelManager:
    """The kernel manager of this attempt, whose kernel is forked now if this process is warm
    (else nbclient spawns it); the kernel loads the IPython extension `extension` (a module's
    name) before it serves.

    Call it before anything here starts an event loop or a thread.
    """
    # The connection file and the sockets in a directory of their own (short: a socket's path
    # has at most 107 bytes), rather than `kernel-ipc-N` in the working directory, which two
    # notebooks of one folder would share.
    sweep_sockets(tempfile.gettempdir())
    sockets = tempfile.mkdtemp(prefix=f"{SOCKETS_PREFIX}{os.getpid()}-")
    ipc, connection_file = os.path.join(sockets, "ipc"), os.path.join(sockets, "kernel.json")
    forked = None
    if _WARM in sys.modules and threading.active_count() == 1 and not _loop_running():
        # The kernel boots while its manager is built (~10 ms in a forked task, whose every
        # page written is copied): it needs only the connection file.
        write_connection_file(connection_file, transport="ipc", ip=ipc, key=new_id_bytes())
        forked = _fork_kernel(connection_file, extension)
    manager = AttemptKernelManager(kernel_name="python3",
                                   kernel_spec_manager=_ThisPython(extension=extension),
                                   transport="ipc", ip=ipc, connection_file=connection_file,
                                   client_class=f"{__name__}.ReadyClient")
    manager.sockets = sockets
    if forked is not None:
        manager.load_connection_file()
        manager.forked = forked
    return manager


SOCKETS_PREFIX = "headwater-kernel-"  # then the pid of the task it serves


def sweep_sockets(folder: str) -> None:
    """Remove the socket directories of tasks that are gone: a task killed with SIGKILL (a
    timeout's last resort) never removes its own."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        pid = name.removeprefix(SOCKETS_PREFIX).partition("-")[0]
        if name.startswith(SOCKETS_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _fork_kernel(connection_file: str, extension: str) -> _ForkedKernel:
    task = os.getpid()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid:
        return _ForkedKernel(pid)
    code = 1
    try:  # the child: it never returns into the task's code
        sys.modules[_WARM].run_kernel(connection_file, task, extension)
        code = 0
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:  # reported, and the child ends
        traceback.print_exc()
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):  # not the kernel's, which has stopped
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        os._exit(code)
