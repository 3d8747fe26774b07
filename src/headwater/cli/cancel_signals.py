"""What Ctrl-C and SIGTERM do to a command that follows a run: cancel it, then leave.

`headwater run` (and `bundle run`, `jobs run-now --wait`, `runs resume`, `runs repair`)
follow a run to its end. The first SIGINT (Ctrl-C) or SIGTERM (a CI job's timeout, `kill`)
cancels the run and keeps following it while its cleanup tasks run, so the run ends
`CANCELED`; a second one leaves at once, its tasks still running for the next engine (or,
against a server, stops watching).
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

import click

CANCELLING = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def cancel_on_signals(cancel: Callable[[], object], what: str, then: str,
                      signals: Collection[int] = CANCELLING) -> Iterator[None]:
    """While inside: the first of `signals` calls `cancel` (saying so), the next raises
    `KeyboardInterrupt` (`then` says what that does)."""
    asked = [False]

    def handler(signum: int, frame: object) -> None:
        if asked[0]:
            raise KeyboardInterrupt
        asked[0] = True
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        click.echo(f"\n{name}: cancelling {what} (again to {then})...", err=True)
        cancel()

    previous = {signum: signal.signal(signum, handler) for signum in signals}
    try:
        yield
    finally:
        for signum, handler_before in previous.items():
            signal.signal(signum, handler_before)


__all__ = ["CANCELLING", "cancel_on_signals"]
