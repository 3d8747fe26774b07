"""Graph helpers shared by validation (`checks.py`) and planning (`plan.py`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(upstream: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle as a closed path in run order (`a -> b -> a`: b depends on a), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for start in upstream:
        if state.get(start):
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            key, index = stack.pop()
            if index == 0:
                state[key] = 1
                path.append(key)
            parents = [p for p in upstream.get(key, ()) if p in upstream]
            if index == len(parents):
                state[key] = 2
                path.pop()
                continue
            stack.append((key, index + 1))
            parent = parents[index]
            if state.get(parent) == 1:
                return list(reversed([*path[path.index(parent) :], parent]))
            if not state.get(parent):
                stack.append((parent, 0))
    return []
