"""`SqlStore`'s methods for schedules and triggers: their memory and their fires.

A mixin, like `runs_store.py`; each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection

from headwater.core.trigger_details import LastFire
from headwater.ports import Clock, NewRun, RunCreated
from headwater.store import trigger_queries
from headwater.store.runs_store import create_run


class _Refused(Exception):
    """Another engine changed the trigger first: roll the fire back."""


class TriggersMixin:
    """Trigger states and fires; mixed into `SqlStore`."""

    lease_clock: Clock | None

    def _reading(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def trigger_states(self, job_ids: Collection[int]) -> dict[int, tuple[int, Any]]:
        """job id -> (version, state body) of the jobs whose triggers remembered something."""
        with self._reading() as conn:
            return trigger_queries.states(conn, job_ids)

    def last_trigger_fires(self, job_id: int, prefixes: Sequence[str]
                           ) -> list[LastFire | None]:
        """The run the job's trigger last started, for each prefix of its fire keys."""
        with self._reading() as conn:
            return trigger_queries.last_fires(conn, job_id, prefixes)

    def save_trigger_state(self, job_id: int, version: int, body: Mapping[str, Any]) -> bool:
        """Store a trigger's new state if it is still at `version`; False if not."""
        with self._writing() as conn:
            return trigger_queries.save_state(conn, job_id, version, body)

    def fire_trigger(self, new: NewRun, key: str, version: int,
                     body: Mapping[str, Any]) -> RunCreated | None:
        """In one transaction: the trigger's new state (if still at `version`), its fire key
        (if not fired already) and the run it starts (admitted like any other run).

        None, with nothing written, when another engine fired or changed it first.
        """
        try:
            with self._writing() as conn:
                if not trigger_queries.save_state(conn, new.job.job_id, version, body):
                    raise _Refused
                created = create_run(conn, self.lease_clock, new)
                if not trigger_queries.add_fire(conn, new.job.job_id, key, created.run_id,
                                                new.at):
                    raise _Refused
                return created
        except _Refused:
            return None
