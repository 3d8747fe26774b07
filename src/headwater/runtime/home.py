"""Where a task finds what headwater keeps for it on this machine (its secret scopes, its DBFS
folder): the folder the engine named in a variable, else one in headwater's home."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["home_folder"]


def home_folder(variable: str, name: str, environ: Mapping[str, str] | None = None) -> Path:
    """`$variable` (the engine sets it for every attempt), else `<HEADWATER_HOME>/<name>`, else
    `.headwater/<name>` in the working directory (where headwater keeps its state)."""
    env = os.environ if environ is None else environ
    if env.get(variable):
        return Path(env[variable])
    home = env.get("HEADWATER_HOME")
    return (Path(home) if home else Path.cwd() / ".headwater") / name
