"""A job's task graph as inline SVG, each node a link, coloured by its task's state on a run.

The layout is `headwater describe`'s (design/svg.py): layers by the longest path of
dependencies, so every edge points right; condition branches label their edges, a run_if
other than "all succeeded" stands above its task, edges into failure handlers are dashed.
Drawn on the server: the graph shows without scripts and in a printout, and a job of a
thousand tasks lays out in milliseconds. Nodes keep one width per drawing, so that a state
that changes while the page watches a run never moves a node. Pure: tasks in, SVG out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from html import escape

from markupsafe import Markup

from headwater.core.spec import Task
from headwater.design.describe import Graph, task_graph
from headwater.design.svg import Box, edge_element, layout, marker
from headwater.web.views.states import Shown

SECOND_LINE = 24  # characters the second line of a node may take (the widest state words)


@dataclass(frozen=True, slots=True)
class NodeState:
    """How a task's node is drawn on a run: its state, and a note (attempts, iterations)."""

    shown: Shown
    note: str = ""


def graph_svg(tasks: Sequence[Task], title: str, link: Callable[[str], str],
              states: Mapping[str, NodeState] | None = None,
              attributes: Callable[[str], str] | None = None) -> Markup:
    """The SVG of the graph of `tasks` (in run order: upstream first), each node a link to
    `link(task_key)` with `attributes(task_key)` added, drawn in its state when given."""
    graph = task_graph(tasks)
    kinds = {node.key: node.kind for node in graph.nodes}
    loops = {task.task_key for task in tasks if task.for_each_task is not None}
    placed = layout(_uniform(graph))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag graph" role="group" '
        f'aria-label="{escape(title)}" width="{placed.width:.0f}" '
        f'height="{placed.height:.0f}" viewBox="0 0 {placed.width:.0f} {placed.height:.0f}">',
        "<defs>", marker("arrow", "#5a6b7c"), marker("arrow-failure", "#c53030"), "</defs>",
    ]
    parts += [edge_element(route, placed.boxes) for route in placed.routes]
    for box in placed.boxes.values():
        key = box.node.key
        state = states.get(key) if states is not None else None
        extra = attributes(key) if attributes is not None else ""
        parts.append(_node(box, kinds[key], state, key in loops, link(key), extra))
    parts.append("</svg>")
    return Markup("\n".join(parts))  # noqa: S704 - every text in it went through escape()


def _uniform(graph: Graph) -> Graph:
    """The graph with every second line as wide as the widest one may be: the layout sizes
    nodes by their text, and a node's text changes with its state."""
    nodes = tuple(replace(node, kind=node.kind.ljust(SECOND_LINE)) for node in graph.nodes)
    return Graph(nodes, graph.edges)


def _node(box: Box, kind: str, state: NodeState | None, loop: bool, href: str,
          attributes: str) -> str:
    node = box.node
    middle = box.x + box.width / 2
    tone = state.shown.tone if state is not None else "plan"
    classes = f"node tone-{tone}" + (" condition" if node.condition else "") + \
        (" loop" if loop else "")
    if state is not None:
        second = f"{state.shown.symbol} {state.shown.words}"
        if state.note and len(second) + 3 + len(state.note) <= SECOND_LINE:
            second += f" · {state.note}"
        label = f"{node.key}: {state.shown.words}" + (f", {state.note}" if state.note else "")
    else:
        second = kind
        label = f"{node.key} ({second})"
    run_if = (f'<text class="run-if" x="{middle:.1f}" y="{box.y - 5:.1f}" '
              f'text-anchor="middle">{escape(node.run_if)}</text>') if node.run_if else ""
    return (
        f'<a class="{classes}" href="{escape(href)}" data-task-key="{escape(node.key)}" '
        f'id="node-{escape(node.key)}" aria-label="{escape(label)}"{attributes}>'
        f"<title>{escape(label)}</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="9" ry="9"/>'
        f'<text class="key" x="{middle:.1f}" y="{box.y + 20:.1f}" text-anchor="middle">'
        f"{escape(node.key)}</text>"
        f'<text class="kind" x="{middle:.1f}" y="{box.y + 36:.1f}" text-anchor="middle">'
        f"{escape(second)}</text>{run_if}</a>"
    )


__all__ = ["NodeState", "graph_svg"]
