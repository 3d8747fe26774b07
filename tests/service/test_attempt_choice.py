"""`pick_attempt`: an attempt number is read within one repair, the latest by default, and a
miss names the attempts of every repair (what `runs logs` answers, locally and remotely)."""

from __future__ import annotations

import pytest

from headwater.errors import NotFound
from headwater.service.attempt_choice import Attempt, pick_attempt

# Two attempts in the original run, two in repair 1, one in repair 3 (repair 2 skipped it).
ATTEMPTS = [Attempt(repair, number, f"r{repair}a{number}")
            for repair, number in [(0, 0), (0, 1), (1, 0), (1, 1), (3, 0)]]
EVERY = ("attempts 0-1 in repair 0 (the original run), attempts 0-1 in repair 1, attempt 0 "
         "in repair 3: pick one with --repair R --attempt A")


@pytest.mark.parametrize(("attempt", "repair", "picked"), [
    (None, None, "r3a0"),  # the latest attempt of the latest repair
    (0, None, "r3a0"),
    (None, 0, "r0a1"),  # the latest attempt of the repair asked
    (0, 0, "r0a0"),
    (1, 1, "r1a1"),
])
def test_an_attempt_is_picked_within_one_repair(attempt: int | None, repair: int | None,
                                                picked: str) -> None:
    assert pick_attempt("Task 'b' of run 6", ATTEMPTS, attempt, repair) == picked


@pytest.mark.parametrize(("attempt", "repair", "message"), [
    (1, None, "Task 'b' of run 6 has no attempt 1 in repair 3 (its latest); it has "),
    (None, 2, "Task 'b' of run 6 has no attempt in repair 2; it has "),
    (2, 0, "Task 'b' of run 6 has no attempt 2 in repair 0; it has "),
])
def test_a_miss_names_the_attempts_of_every_repair(attempt: int | None, repair: int | None,
                                                   message: str) -> None:
    with pytest.raises(NotFound) as refused:
        pick_attempt("Task 'b' of run 6", ATTEMPTS, attempt, repair)
    assert str(refused.value) == message + EVERY


def test_attempt_numbers_that_skip_are_listed_one_by_one() -> None:
    # A repair keeps an iteration that succeeded on its second attempt: attempt 1 alone there.
    attempts = [Attempt(0, 0, "a"), Attempt(0, 1, "b"), Attempt(0, 2, "c"), Attempt(1, 1, "d"),
                Attempt(1, 3, "e")]
    with pytest.raises(NotFound, match=r"attempts 0-2 in repair 0 \(the original run\), "
                                       r"attempts 1, 3 in repair 1:"):
        pick_attempt("Iteration 1 of task 'loop' of run 12", attempts, 0, 1)
