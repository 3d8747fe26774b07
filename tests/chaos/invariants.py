"""The invariants of the reliability plan, checked mechanically after a chaos round. Each
check returns a verdict (held, and a short detail) instead of raising, so that a round
reports all of them."""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from headwater.bootstrap import application
from headwater.config import Settings
from tests.chaos.servers import AcceptingSmtp
from tests.chaos.world import TASKS, World
from tests.e2e.engines import check_exactly_once, check_no_overlap, clean_env, read_ledger

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


@dataclass(frozen=True)
class Verdict:
    name: str
    held: bool
    detail: str = ""


def check_all(world: World, documents: dict[int, dict[str, Any]],
              expected: Callable[[dict[str, Any]], bool]) -> list[Verdict]:
    """Every invariant of the round; `expected` says whether a run ended as the fault allows."""
    checks: list[tuple[str, Callable[[], str]]] = [
        ("the fault took effect", lambda: "; ".join(check() for check in world.evidence)),
        ("one terminal state per run", lambda: _terminal(world, documents, expected)),
        ("no succeeded task ran again", lambda: _exactly_once(world, documents)),
        ("no two attempts of a task overlapped", lambda: _no_overlap(world)),
        ("no process of a finished attempt alive", lambda: _no_leftovers(world)),
        ("store integrity", lambda: _integrity(world)),
        ("audit verify", lambda: _audit(world)),
        ("alerts delivered once or dead with reason", lambda: _alerts(world)),
        ("no secret in any log, table or output", lambda: _no_secrets(world)),
    ]
    verdicts = []
    for name, check in checks:
        try:
            verdicts.append(Verdict(name, True, check()))
        except AssertionError as failed:
            verdicts.append(Verdict(name, False, str(failed)[:500]))
    return verdicts


def _terminal(world: World, documents: dict[int, dict[str, Any]],
              expected: Callable[[dict[str, Any]], bool]) -> str:
    assert set(documents) == set(world.runs), f"runs never ended: {set(world.runs) - set(documents)}"
    for run_id, document in documents.items():
        state = document["state"]
        assert state["life_cycle_state"] in TERMINAL, f"run {run_id}: {state}"
        assert expected(document), f"run {run_id} ended {state.get('result_state')}: {state}"
    return f"{len(documents)} runs"


def _exactly_once(world: World, documents: dict[int, dict[str, Any]]) -> str:
    succeeded = [run_id for run_id, d in documents.items()
                 if d["state"].get("result_state") == "SUCCESS"]
    entries = read_ledger(world.ledger) if world.ledger.exists() else []
    check_exactly_once([e for e in entries if e.run_id in succeeded], succeeded, TASKS)
    return f"{len(entries)} ledger lines"


def _no_overlap(world: World) -> str:
    entries = read_ledger(world.ledger) if world.ledger.exists() else []
    check_no_overlap(entries)
    return ""


def _no_leftovers(world: World, patience: float = 15.0) -> str:
    """No process outside this test names the round's folder in its command or environment
    (every task, attempt parent and daemon of the round does; engines are stopped by now)."""
    needle = str(world.workdir).encode()
    deadline = time.monotonic() + patience  # a SIGKILLed tree takes a moment to be reaped
    while True:
        alive = list(_processes_naming(needle))
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not alive, f"still alive: {alive[:5]}"
    return ""


def _processes_naming(needle: bytes) -> Iterator[str]:
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = Path(entry.path, "cmdline").read_bytes()
            environ = Path(entry.path, "environ").read_bytes()
            state = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (needle in command or needle in environ):
            shown = command.replace(b"\0", b" ")[:120].decode(errors="replace")
            yield f"{entry.name}: {shown}"


def _integrity(world: World) -> str:
    if world.backend != "sqlite":
        return "PostgreSQL: constraints enforced by the server"
    path = world.workdir / "state.db"
    with sqlite3.connect(path) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchall()
        keys = conn.execute("PRAGMA foreign_key_check").fetchall()
    assert result == [("ok",)], result
    assert not keys, keys
    return "ok"


def _audit(world: World) -> str:
    return world.cli("audit", "verify").strip().splitlines()[-1][:80]


def _alerts(world: World) -> str:
    rows = outbox(world)
    assert not [r for r in rows if r["status"] == "PENDING"], "alerts still pending"
    mailed = world.smtp.keys if isinstance(world.smtp, AcceptingSmtp) else Counter[str]()
    received = world.sink.keys + mailed
    delivered = [r for r in rows if r["status"] == "DELIVERED"]
    dead = [r for r in rows if r["status"] == "FAILED"]  # given up: its reason is kept
    assert len(delivered) + len(dead) == len(rows), {r["status"] for r in rows}
    assert all(r["last_error"] for r in dead), "a failed alert without its reason"
    never = [r["dedupe_key"] for r in delivered if received[r["dedupe_key"]] < 1]
    assert not never, f"marked delivered, never received: {never[:3]}"
    unknown = set(received) - {r["dedupe_key"] for r in rows}
    assert not unknown, f"received alerts the outbox never held: {sorted(unknown)[:3]}"
    twice = {k: n for k, n in received.items() if n > 1}
    # A sender that could not record a delivery (killed, frozen past its lease, its store
    # failing) sends it again (the dedupe key lets receivers drop it): only rounds that
    # interrupt an engine or its store may show that.
    assert not twice or world.interrupted, f"received twice: {twice}"
    return (f"{len(delivered)} delivered, {len(dead)} failed with a reason"
            + (f", {len(twice)} sent again after the fault" if twice else ""))


def outbox(world: World) -> list[dict[str, Any]]:
    settings = Settings.from_env(clean_env(**world.cluster.env), world.workdir,
                                 db=world.cluster.db_url)
    with application(settings) as app:
        return [dict(row) for row in app.store.outbox_rows(limit=100000)]


def _no_secrets(world: World) -> str:
    canaries = [value.encode() for value in world.canaries.values()]
    places = [*_files(world.workdir), *_tables(world)]
    places += [(f"cli output {n}", out.encode()) for n, out in enumerate(world.outputs)]
    found = [(where, c.decode()) for where, data in places for c in canaries if c in data]
    assert not found, f"secrets written down: {found[:5]}"
    return f"{len(places)} files, tables and outputs"


def _files(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield str(path.relative_to(root)), path.read_bytes()


def _tables(world: World) -> Iterator[tuple[str, bytes]]:
    if world.backend == "sqlite":
        return  # the database file itself was read with the other files
    engine = create_engine(world.cluster.db_url)
    try:
        with engine.connect() as conn:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE "
                                      "schemaname = 'public'")).scalars().all()
            for name in names:
                rows = conn.execute(text(f'SELECT t::text FROM "{name}" t')).scalars().all()
                yield f"table {name}", "\n".join(rows).encode()
    finally:
        engine.dispose()
