"""Executors: where attempts' processes run (`local` here; `dask` is an optional extra).

Each implements `headwater.ports.Executor`; only `bootstrap.py` chooses one. The local one is
`local` (the engine's side) over `parent` (the attempt parent and the spawner that forks it,
standard library only, run as a script), `spawner` (the engine's end of the spawner's socket),
`records` (what parents leave in an attempt directory) and `proctree` (/proc).
"""

from headwater.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
