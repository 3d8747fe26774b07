"""Settings: built once from the command line and the environment, then passed down.

Nothing reads configuration at import time. The environment is a parameter, so tests can
build settings from a dict.
"""

from __future__ import annotations

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
        return cls(home=home, db_url=url, max_parallel=parallel)
