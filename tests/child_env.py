"""The environment of a headwater process that a test starts: the test process's, without its
`HEADWATER_*` settings (and other prefixes named), except the suite's launch mode, so that
`HEADWATER_LAUNCH=spawn make test` runs every child engine with the fork server off too."""

from __future__ import annotations

import os

KEPT = frozenset({"HEADWATER_LAUNCH"})


def child_env(*dropped: str) -> dict[str, str]:
    """`os.environ` without `HEADWATER_*` or the `dropped` prefixes, but with `KEPT`."""
    prefixes = ("HEADWATER_", *dropped)
    return {k: v for k, v in os.environ.items() if k in KEPT or not k.startswith(prefixes)}
