"""Executors: where attempts' processes run (`local` here; `dask` is an optional extra).

Each implements `headwater.ports.Executor`; only `bootstrap.py` chooses one.
"""

from headwater.executors.local import LocalExecutor

__all__ = ["LocalExecutor"]
