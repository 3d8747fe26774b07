"""The DAG layout: layers by longest path, every edge pointing right, long edges routed."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from headwater.design.describe import Edge, Graph, Node
from headwater.design.svg import draw_svg, layers_of, layout


def graph(edges: list[tuple[str, str]], keys: list[str]) -> Graph:
    return Graph(tuple(Node(k, "notebook", False) for k in keys),
                 tuple(Edge(a, b, "", False) for a, b in edges))


def test_layers_are_longest_paths() -> None:
    # Given a -> b -> c and a shortcut a -> c
    dag = graph([("a", "b"), ("b", "c"), ("a", "c")], ["a", "b", "c"])

    # Then c sits after b, and the shortcut crosses b's layer on a waypoint
    assert layers_of(dag) == {"a": 0, "b": 1, "c": 2}
    placed = layout(dag)
    assert [len(route.waypoints) for route in placed.routes] == [0, 0, 1]


@st.composite
def dags(draw: st.DrawFn) -> Graph:
    size = draw(st.integers(min_value=1, max_value=12))
    keys = [f"task_{i}" for i in range(size)]
    edges = [(keys[i], keys[j]) for j in range(size) for i in range(j)
             if draw(st.booleans())]
    return graph(edges, keys)


@given(dags())
def test_every_edge_points_right_and_no_nodes_overlap(dag: Graph) -> None:
    placed = layout(dag)
    boxes = placed.boxes
    assert set(boxes) == {node.key for node in dag.nodes}
    for edge in dag.edges:
        assert boxes[edge.source].x + boxes[edge.source].width < boxes[edge.target].x
    ordered = sorted(boxes.values(), key=lambda box: (box.x, box.y))
    for first, second in itertools.pairwise(ordered):
        if first.x == second.x:
            assert first.y + first.height <= second.y
    assert all(box.x + box.width <= placed.width and box.y + box.height <= placed.height
               for box in boxes.values())


def test_svg_draws_one_node_per_task_with_labels() -> None:
    dag = Graph((Node("check", "condition", True), Node("a", "notebook", False, "if all failed")),
                (Edge("check", "a", "true", True),))
    svg = draw_svg(dag, "DAG of <job>")

    assert svg.count('<g class="node') == 2
    assert '<g class="node condition" data-task-key="check">' in svg
    assert ">true</text>" in svg and ">if all failed</text>" in svg
    assert "DAG of &lt;job&gt;" in svg  # escaped
    assert 'class="edge failure"' in svg
