"""Real Git repositories for the tests of `git_source`: made with the `git` command, served
from the file system or by `git daemon` on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

IDENTITY = ["-c", "user.name=Ann", "-c", "user.email=ann@example.com",
            "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]


def git(repo: Path, *arguments: str) -> str:
    done = subprocess.run(["git", *IDENTITY, "-C", str(repo), *arguments], check=True,
                          capture_output=True, text=True)
    return done.stdout.strip()


def commit(repo: Path, files: Mapping[str, str], message: str = "change") -> str:
    """Write `files` (path -> text) into the repository, commit them; the commit's id."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "--quiet")
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """`git daemon` serving the repositories under `base` on 127.0.0.1; its `git://` URL."""
    port = free_port()
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all",
                               f"--base-path={base}", "--listen=127.0.0.1", f"--port={port}",
                               str(base)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
