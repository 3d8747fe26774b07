"""Which attempt `headwater runs logs` shows: one attempt of a task (or of one for-each
iteration) among those of one repair, and, when there is none, an error naming what exists.

A run keeps every attempt of every repair, and attempt numbers start again at 0 in each
repair, so an attempt number alone is ambiguous: it is read within one repair, the latest by
default. Pure: the service picks among the task runs of its store, the remote client among the
entries of a server's `runs/get`, and both answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from headwater.errors import NotFound

Found = TypeVar("Found")


@dataclass(frozen=True, slots=True)
class Attempt(Generic[Found]):
    """One attempt as `pick_attempt` sees it."""

    repair: int  # the repair it ran in, 0 for the original run (an iteration: its for-each's)
    number: int  # its attempt_number
    found: Found  # what the caller reads its log by: a task run, or a task run id


def pick_attempt(what: str, attempts: Sequence[Attempt[Found]], attempt: int | None,
                 repair: int | None) -> Found:
    """The attempt numbered `attempt` (by default the latest) of repair `repair` (by default
    the latest repair with an attempt of it).

    Args:
        what: whose attempts these are, to start an error with ("Task 'b' of run 6").
        attempts: every attempt, oldest first; at least one.
        attempt: an attempt_number, or None for the latest of the repair.
        repair: a repair number (0: the original run), or None for the latest.

    Raises:
        NotFound: naming the attempts of each repair and how to pick one.
    """
    chosen = attempts[-1].repair if repair is None else repair
    matching = [a for a in attempts if a.repair == chosen
                and (attempt is None or a.number == attempt)]
    if matching:
        return matching[-1].found
    latest = " (its latest)" if repair is None else ""
    missing = "no attempt" if attempt is None else f"no attempt {attempt}"
    raise NotFound(f"{what} has {missing} in repair {chosen}{latest}; it has "
                   f"{_held(attempts)}: pick one with --repair R --attempt A")


def iteration_attempts(task_key: str, run_id: int, iteration: int, started: Sequence[int],
                       found: list[Attempt[Found]]) -> list[Attempt[Found]]:
    """`found`, the attempts of iteration `iteration` of the for-each `task_key`, whose runs
    started `started` iterations each; when there are none, `NotFound` saying why.

    Raises:
        NotFound: when the task is no for-each that ran, or has no such iteration.
    """
    if not started:
        raise NotFound(f"Task {task_key!r} of run {run_id} is not a for-each that ran.")
    if not found:
        raise NotFound(f"Task {task_key!r} of run {run_id} has no iteration {iteration}; "
                       f"its iterations are 0 to {max(started) - 1}")
    return found


def _held(attempts: Sequence[Attempt[Found]]) -> str:
    """The attempt numbers of each repair, in words: "attempts 0-1 in repair 0 (the original
    run), attempt 0 in repair 2"."""
    repairs = sorted({a.repair for a in attempts})
    words = []
    for repair in repairs:
        numbers = sorted({a.number for a in attempts if a.repair == repair})
        noun = "attempt" if len(numbers) == 1 else "attempts"
        original = " (the original run)" if repair == 0 else ""
        words.append(f"{noun} {_spans(numbers)} in repair {repair}{original}")
    return ", ".join(words)


def _spans(numbers: Sequence[int]) -> str:
    """Sorted distinct numbers as runs of consecutive ones: [0, 1, 2, 5] -> "0-2, 5"."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][-1] + 1:
            spans[-1].append(number)
        else:
            spans.append([number])
    return ", ".join(f"{span[0]}-{span[-1]}" if len(span) > 1 else str(span[0])
                     for span in spans)


__all__ = ["Attempt", "iteration_attempts", "pick_attempt"]
