"""The DAG drawn as a self-contained SVG: our own layered layout, no JavaScript, no fonts to load.

Layout: each task's layer (column, left to right) is the length of the longest dependency path
that reaches it, so every edge points right; within a layer tasks are ordered by the mean row of
their upstream tasks (then declaration order), which keeps most edges short and uncrossed.
Nodes are rounded rectangles with the task key and its type (condition tasks in amber); edges
are curves with arrowheads, dashed red when the task runs on failure, labelled with a condition
branch (`true`/`false`) or a non-default run_if. Pure: a `Graph` in, SVG text out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

from headwater.design.describe import Edge, Graph, Node

__all__ = ["STYLE", "Box", "Layout", "curve", "draw_svg", "edge_element", "layout", "marker"]

KEY_CHAR_WIDTH = 7.9  # 13px monospace
KIND_CHAR_WIDTH = 6.4  # 11px sans-serif
LABEL_CHAR_WIDTH = 6.2
NODE_HEIGHT = 46
MIN_NODE_WIDTH = 120
NODE_PADDING = 24
COLUMN_GAP = 80
LANE_HEIGHT = 12
ROW_GAP = 26
MARGIN = 20

STYLE = """
.node rect { fill: #eef4fb; stroke: #3b6ea5; stroke-width: 1.5; }
.node.condition rect { fill: #fff4dc; stroke: #b7791f; }
.node .key { font: bold 13px monospace; fill: #1a2b3c; }
.node .kind { font: 11px sans-serif; fill: #4a5a6a; }
.node .run-if { font: italic 11px sans-serif; fill: #c53030; }
.edge path { fill: none; stroke: #5a6b7c; stroke-width: 1.4; }
.edge.failure path { stroke: #c53030; stroke-dasharray: 5 4; }
.edge rect { fill: #ffffff; opacity: 0.9; }
.edge text { font: 11px sans-serif; fill: #333333; }
.edge.failure text { fill: #c53030; }
"""


@dataclass(frozen=True, slots=True)
class Box:
    """Where one task's node sits: top-left corner and size."""

    node: Node
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Route:
    """The points an edge passes through between its nodes (one per layer it crosses)."""

    edge: Edge
    waypoints: tuple[tuple[float, float, float], ...]  # (left x, right x, y) per crossed layer


@dataclass(frozen=True, slots=True)
class Layout:
    """Every node's box, every edge's route and the size of the drawing."""

    boxes: Mapping[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float


# An item of a column: a task (its key) or the place where edge number `n` crosses the layer.
Item = str | tuple[int, int]  # task key, or (edge index, layer)


def layers_of(graph: Graph) -> dict[str, int]:
    """Each task's layer: 0 for tasks without dependencies, else 1 + the deepest upstream."""
    upstream: dict[str, list[str]] = {node.key: [] for node in graph.nodes}
    for edge in graph.edges:
        upstream[edge.target].append(edge.source)
    layer: dict[str, int] = {}
    for node in graph.nodes:  # nodes come in run order: upstream tasks first
        layer[node.key] = 1 + max((layer[up] for up in upstream[node.key]), default=-1)
    return layer


def _columns(graph: Graph, layer: Mapping[str, int]) -> list[list[Item]]:
    """Items per layer, ordered by the mean row of what feeds them (stable: declaration order)."""
    columns: list[list[Item]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    feeds: dict[Item, list[Item]] = {node.key: [] for node in graph.nodes}
    for node in graph.nodes:
        columns[layer[node.key]].append(node.key)
    for index, edge in enumerate(graph.edges):
        previous: Item = edge.source
        for crossed in range(layer[edge.source] + 1, layer[edge.target]):
            columns[crossed].append((index, crossed))
            feeds[(index, crossed)] = [previous]
            previous = (index, crossed)
        feeds[edge.target].append(previous)
    row: dict[Item, float] = {}
    for column in columns:
        def mean_row(item: Item) -> float:
            rows = [row[up] for up in feeds[item]]
            return sum(rows) / len(rows) if rows else -1.0

        column.sort(key=mean_row)
        row.update({item: float(index) for index, item in enumerate(column)})
    return columns


def _item_height(item: Item) -> float:
    return NODE_HEIGHT if isinstance(item, str) else LANE_HEIGHT


def layout(graph: Graph) -> Layout:
    """Place every node and route every edge: columns by layer, rows by upstream position."""
    nodes = {node.key: node for node in graph.nodes}
    layer = layers_of(graph)
    columns = _columns(graph, layer)
    widths = [max([MIN_NODE_WIDTH, *(_node_width(nodes[i]) for i in c if isinstance(i, str))])
              for c in columns]
    heights = [sum(_item_height(i) for i in c) + (len(c) - 1) * ROW_GAP for c in columns]
    tallest = max(heights, default=0.0)
    boxes: dict[str, Box] = {}
    lanes: dict[Item, tuple[float, float, float]] = {}
    x = float(MARGIN)
    for column, width, used in zip(columns, widths, heights, strict=True):
        y = MARGIN + (tallest - used) / 2
        for item in column:
            if isinstance(item, str):
                boxes[item] = Box(nodes[item], x, y, width, NODE_HEIGHT)
            else:
                lanes[item] = (x, x + width, y + LANE_HEIGHT / 2)
            y += _item_height(item) + ROW_GAP
        x += width + COLUMN_GAP
    routes = tuple(
        Route(edge, tuple(lanes[(index, crossed)] for crossed in
                          range(layer[edge.source] + 1, layer[edge.target])))
        for index, edge in enumerate(graph.edges))
    return Layout(boxes, routes, x - COLUMN_GAP + MARGIN, tallest + 2 * MARGIN)


def _node_width(node: Node) -> float:
    return max(len(node.key) * KEY_CHAR_WIDTH, len(node.kind) * KIND_CHAR_WIDTH) + NODE_PADDING


def draw_svg(graph: Graph, title: str = "DAG") -> str:
    """The SVG element of the DAG (for inlining in HTML, or as a `.svg` file's content)."""
    placed = layout(graph)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" '
        f'aria-label="{escape(title)}" width="{placed.width:.0f}" height="{placed.height:.0f}" '
        f'viewBox="0 0 {placed.width:.0f} {placed.height:.0f}">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        "<defs>",
        marker("arrow", "#5a6b7c"),
        marker("arrow-failure", "#c53030"),
        "</defs>",
    ]
    parts += [edge_element(route, placed.boxes) for route in placed.routes]
    parts += [_node(box) for box in placed.boxes.values()]
    parts.append("</svg>")
    return "\n".join(parts)


def marker(name: str, colour: str) -> str:
    return (f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto-start-reverse">'
            f'<path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>')


def _node(box: Box) -> str:
    node = box.node
    kind = " condition" if node.condition else ""
    middle = box.x + box.width / 2
    run_if = (f'<text class="run-if" x="{middle:.1f}" y="{box.y - 5:.1f}" '
              f'text-anchor="middle">{escape(node.run_if)}</text>') if node.run_if else ""
    return (
        f'<g class="node{kind}" data-task-key="{escape(node.key)}">'
        f"<title>{escape(node.key)} ({escape(node.kind)})</title>"
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="9" ry="9"/>'
        f'<text class="key" x="{middle:.1f}" y="{box.y + 20:.1f}" text-anchor="middle">'
        f"{escape(node.key)}</text>"
        f'<text class="kind" x="{middle:.1f}" y="{box.y + 36:.1f}" text-anchor="middle">'
        f"{escape(node.kind)}</text>{run_if}</g>"
    )


def curve(x1: float, y1: float, x2: float, y2: float) -> str:
    bend = max((x2 - x1) / 2, 20)
    return f" C {x1 + bend:.1f} {y1:.1f}, {x2 - bend:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}"


def edge_element(route: Route, boxes: Mapping[str, Box]) -> str:
    edge = route.edge
    start, end = boxes[edge.source], boxes[edge.target]
    x, y = start.x + start.width, start.y + start.height / 2
    path = f"M {x:.1f} {y:.1f}"
    for left, right, lane_y in route.waypoints:  # across the layers in between, straight
        path += curve(x, y, left, lane_y) + f" L {right:.1f} {lane_y:.1f}"
        x, y = right, lane_y
    x2, y2 = end.x - 2, end.y + end.height / 2
    path += curve(x, y, x2, y2)
    kind = " failure" if edge.failure else ""
    marker = "arrow-failure" if edge.failure else "arrow"
    label = _edge_label(edge.label, (x + x2) / 2, (y + y2) / 2) if edge.label else ""
    return (f'<g class="edge{kind}" data-from="{escape(edge.source)}" '
            f'data-to="{escape(edge.target)}"><path d="{path}" marker-end="url(#{marker})"/>'
            f"{label}</g>")


def _edge_label(text: str, x: float, y: float) -> str:
    width = len(text) * LABEL_CHAR_WIDTH + 8
    return (f'<rect x="{x - width / 2:.1f}" y="{y - 9:.1f}" width="{width:.1f}" height="16" '
            f'rx="3"/><text x="{x:.1f}" y="{y + 3:.1f}" text-anchor="middle">'
            f"{escape(text)}</text>")

