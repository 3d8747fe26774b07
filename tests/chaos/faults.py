"""The faults of the chaos suite. Each one starts a round's engines and runs, does its harm
while they work, and undoes it (a restart, a SIGCONT, space or write access given back):
the round then waits for every run to end and checks the invariants."""

from __future__ import annotations

import random
import resource
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, make_url, text

from headwater.store.engine import IDLE_IN_TRANSACTION_MS
from headwater.store.stalled_sessions import STALLED_MS, WATCH_SECONDS
from tests.chaos.world import World, as_other_user
from tests.e2e.engines import LEASE_SECONDS, EngineProcess

Expected = Callable[[dict[str, Any]], bool]


def succeeded(document: dict[str, Any]) -> bool:
    return bool(document["state"].get("result_state") == "SUCCESS")


@dataclass(frozen=True)
class Fault:
    name: str
    backends: tuple[str, ...]
    inflict: Callable[[World, random.Random], Expected]
    world: dict[str, Any]  # how `make_world` sets the round up for it


def held_runs(world: World, owner: str) -> list[int]:
    engine = create_engine(world.cluster.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT run_id FROM runs WHERE lease_owner = :o AND "
                                     "needs_engine"), {"o": owner}).all()
    finally:
        engine.dispose()
    return [row.run_id for row in rows]


def _busy(world: World, engines: list[EngineProcess], chance: random.Random) -> EngineProcess:
    """An engine that holds runs now: the fault must fall on work (when the round's runs have
    all ended already, two more are started and awaited)."""
    for attempt in range(100):
        busy = [e for e in engines if held_runs(world, e.name)]
        if busy:
            return busy[chance.randrange(len(busy))]
        if attempt == 10:
            world.start_runs(2)
        time.sleep(0.1)
    return engines[chance.randrange(len(engines))]


def kill_engines(world: World, chance: random.Random) -> Expected:
    """SIGKILL a working engine of three at a random moment, twice, replacing each."""
    engines = [world.cluster.start_engine(max_parallel=6) for _ in range(3)]
    world.start_runs(4)
    holding = 0
    for _ in range(2):
        time.sleep(chance.uniform(0.2, 2.5))
        victim = _busy(world, engines, chance)
        engines.remove(victim)
        holding += bool(held_runs(world, victim.name))
        victim.kill()
        victim.process.wait(30)
        world.interrupted = True
        engines.append(world.cluster.start_engine(max_parallel=6))

    def bit() -> str:
        assert holding, "no engine held a run when it was killed"
        return f"{holding} of 2 engines killed while driving runs"
    world.evidence.append(bit)
    return succeeded


def stop_engine_past_its_lease(world: World, chance: random.Random) -> Expected:
    """SIGSTOP a working engine for longer than its lease, while another takes over; then
    SIGCONT: fencing keeps the woken engine from writing anything more."""
    engines = [world.cluster.start_engine(max_parallel=6) for _ in range(2)]
    world.start_runs(3)
    time.sleep(chance.uniform(0.3, 1.5))
    victim = _busy(world, engines, chance)
    frozen_with = held_runs(world, victim.name)
    world.interrupted = True
    _stop_outside_a_write(world, victim, chance)
    # Past its lease, and past the time a transaction it froze in may hold row locks on
    # PostgreSQL: the server ends a session idle in it after IDLE_IN_TRANSACTION_MS, the
    # other engine one frozen in the middle of a request within STALLED_MS + WATCH_SECONDS
    # (store/stalled_sessions.py)
    longest_held = max(IDLE_IN_TRANSACTION_MS / 1000, STALLED_MS / 1000 + WATCH_SECONDS)
    time.sleep(max(LEASE_SECONDS * 2, longest_held + LEASE_SECONDS) + 2)
    still_held = set(frozen_with) & set(held_runs(world, victim.name))
    victim.kill(signal.SIGCONT)

    def bit() -> str:
        assert frozen_with, "the stopped engine held no run"
        assert not still_held, f"runs {still_held} were not taken over from the stopped engine"
        return f"runs {frozen_with} taken over from the stopped engine"
    world.evidence.append(bit)
    return succeeded


def _stop_outside_a_write(world: World, victim: EngineProcess, chance: random.Random) -> None:
    """SIGSTOP the engine; on SQLite, at a moment it holds no write transaction.

    A process frozen inside a SQLite write transaction keeps the database's write lock, and
    no other engine can write until it resumes: SQLite has no server to end its session (on
    PostgreSQL the session timeout does, store/engine.py). docs/reliability.md states that
    limit; this fault tests the lease takeover, so on SQLite it stops the engine again a
    moment later until it froze with the lock free (each try takes milliseconds).
    """
    for _ in range(50):
        victim.kill(signal.SIGSTOP)
        if world.backend != "sqlite" or not _sqlite_write_locked(world.cluster.db_url):
            return
        victim.kill(signal.SIGCONT)
        time.sleep(chance.uniform(0.01, 0.1))
    raise AssertionError("the engine held the SQLite write lock at each of 50 stops")


def _sqlite_write_locked(url: str) -> bool:
    """Whether another process holds the SQLite database's write lock now."""
    connection = sqlite3.connect(make_url(url).database or "", timeout=0,
                                 isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        connection.close()


def fill_the_disk(world: World, chance: random.Random) -> Expected:
    """The store's disk fills up under a working engine (the engine may write no byte past
    the files' current sizes: RLIMIT_FSIZE, so writes fail with EFBIG as on a full disk),
    then space comes back."""
    engine = world.cluster.start_engine(max_parallel=6)
    world.start_runs(3)
    time.sleep(chance.uniform(0.3, 1.5))
    sizes = [p.stat().st_size for p in world.workdir.glob("state.db*")]
    world.interrupted = True
    _, hard = resource.prlimit(engine.process.pid, resource.RLIMIT_FSIZE)
    resource.prlimit(engine.process.pid, resource.RLIMIT_FSIZE, (max(sizes), hard))
    try:
        time.sleep(3)
    finally:
        resource.prlimit(engine.process.pid, resource.RLIMIT_FSIZE, (hard, hard))
    if engine.process.poll() is not None:  # it stopped on the fault: start it again
        world.cluster.start_engine(max_parallel=6)
    world.evidence.append(lambda: _logged(world, "the store failed"))
    return succeeded


def _logged(world: World, words: str) -> str:
    count = world.engine_logs().count(words)
    assert count, f"no engine log says {words!r}"
    return f"{count} times {words!r} in the engines' logs"


def make_the_store_read_only(world: World, chance: random.Random) -> Expected:
    """The database becomes read-only under the engines, then writable again. PostgreSQL:
    `default_transaction_read_only` for the database, every session cut. SQLite (a file an
    open process keeps writing through its descriptor): the engine is restarted on a store
    it may only read, then on a writable one."""
    engine = world.cluster.start_engine(max_parallel=6)
    world.start_runs(3)
    time.sleep(chance.uniform(0.3, 1.5))
    world.interrupted = True
    if world.backend == "postgresql":
        _postgres_read_only(world.cluster.db_url, True)
        try:
            time.sleep(3)
        finally:  # whatever happens, the database is left writable for the next round
            _postgres_read_only(world.cluster.db_url, False)
        world.evidence.append(lambda: _logged(world, "read-only transaction"))
        return succeeded
    engine.kill()
    engine.process.wait(30)
    world.interrupted = True
    prefix = as_other_user()
    store = [world.workdir / "state.db", *world.workdir.glob("state.db-*")]
    for path in store:
        path.chmod(0o644 if prefix else 0o444)
    if not prefix:
        world.workdir.chmod(0o555)
    try:
        reader = world.cluster.start_engine(max_parallel=6, prefix=prefix)
        time.sleep(3)
        reader.kill()
        reader.process.wait(30)
    finally:
        world.workdir.chmod(0o755)
        for path in store:
            path.chmod(0o600)
    world.evidence.append(lambda: _logged(world, "is read-only for this user"))
    world.cluster.start_engine(max_parallel=6)
    return succeeded


def _postgres_read_only(url: str, read_only: bool) -> None:
    database = make_url(url).database
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SET default_transaction_read_only = off"))  # this session writes
            conn.execute(text(f'ALTER DATABASE "{database}" SET default_transaction_read_only '
                              f"= {'on' if read_only else 'off'}"))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                              "datname = :d AND pid <> pg_backend_pid()"), {"d": database})
    finally:
        engine.dispose()


def hang_the_webhook(world: World, chance: random.Random) -> Expected:
    """The webhook receiver hangs (no answer past the sender's timeout) on its first calls."""
    world.cluster.start_engine(max_parallel=6)
    world.start_runs(3)

    def bit() -> str:
        assert world.sink.hung, "the webhook never hung"
        return f"{world.sink.hung} calls hung"
    world.evidence.append(bit)
    return succeeded


def refuse_smtp(world: World, chance: random.Random) -> Expected:
    """The SMTP server refuses every message: the e-mail alerts end dead with the reason."""
    world.cluster.start_engine(max_parallel=6)
    world.start_runs(3)

    def bit() -> str:
        refused = getattr(world.smtp, "refused", 0)
        assert refused, "the SMTP server refused nothing"
        return f"{refused} SMTP sessions refused"
    world.evidence.append(bit)
    return succeeded


def fork_daemons(world: World, chance: random.Random) -> Expected:
    """Tasks that fork daemons and ignore SIGTERM, ended by their end, a timeout and a cancel."""
    world.cluster.start_engine(max_parallel=6)
    first, second = world.start_runs(2)
    time.sleep(chance.uniform(1.0, 2.0))
    world.cli("runs", "cancel", str(second))
    endings = {first: ("TIMEDOUT", "FAILED"), second: ("CANCELED",)}

    def bit() -> str:
        daemons = world.workdir / "daemons"
        count = len(daemons.read_text().split()) if daemons.exists() else 0
        assert count, "no daemon was started"
        return f"{count} daemons started"
    world.evidence.append(bit)
    return lambda document: document["state"].get("result_state") in endings[
        document["run_id"]]


FAULTS = (
    Fault("kill -9 an engine (3 engines)", ("sqlite", "postgresql"), kill_engines, {}),
    Fault("SIGSTOP an engine past its lease", ("sqlite", "postgresql"),
          stop_engine_past_its_lease, {}),
    Fault("the store's disk fills up", ("sqlite",), fill_the_disk, {}),
    Fault("the database becomes read-only", ("sqlite", "postgresql"),
          make_the_store_read_only, {}),
    Fault("a webhook that hangs", ("sqlite",), hang_the_webhook, {"hang_webhook": 3}),
    Fault("an SMTP server that refuses", ("sqlite",), refuse_smtp, {"refuse_smtp": True}),
    Fault("a task forks daemons, ignores SIGTERM", ("sqlite",), fork_daemons,
          {"daemons": True}),
)
