"""Settings: built once from the command line and the environment, then passed down.

Nothing reads configuration at import time. The environment is a parameter, so tests can
build settings from a dict.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


def default_max_parallel(cpu_count: int | None) -> int:
    """Tasks mostly wait on I/O or on other programs: four per core, between 4 and 32."""
    return max(4, min(32, 4 * (cpu_count or 1)))


@dataclass(frozen=True, slots=True)
class Settings:
    """Where headwater keeps its state and how much it runs at once."""

    home: Path  # .headwater/ by default: the SQLite store and the attempts' logs
    db_url: str
    max_parallel: int
    user: str = "local"  # who acts: runs' creator, `mode: development` prefixes
    run_job_chain: tuple[int, ...] = ()  # jobs whose Run Job tasks started this engine

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @classmethod
    def from_env(cls, env: Mapping[str, str], cwd: Path, db: str | None = None,
                 max_parallel: int | None = None) -> Settings:
        """`--db` beats `HEADWATER_DB`, which beats `.headwater/headwater.db` under `cwd`."""
        home = Path(env.get("HEADWATER_HOME") or cwd / ".headwater")
        url = db or env.get("HEADWATER_DB") or f"sqlite:///{home / 'headwater.db'}"
        if "://" not in url:  # a plain path is a SQLite file
            url = f"sqlite:///{Path(url).absolute()}"
        parallel = max_parallel or default_max_parallel(os.cpu_count())
        chain = tuple(int(j) for j in env.get("HEADWATER_RUN_JOB_CHAIN", "").split(",") if j)
        return cls(home=home, db_url=url, max_parallel=parallel, user=current_user(env),
                   run_job_chain=chain)


def current_user(env: Mapping[str, str]) -> str:
    """`HEADWATER_USER`, else the OS login name, else "local" (the server will use tokens)."""
    if env.get("HEADWATER_USER"):
        return env["HEADWATER_USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "local"
