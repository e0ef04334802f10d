"""A layered drawing of a flow's graph for the dashboard page (pure: plain data in, boxes out).

Theory of operation: a small Sugiyama-style layout in four steps, none recursive:

1. the edges that close a cycle are set aside (an iterative depth-first search in node order
   finds them: an edge to a node still on the search path, self-loops included), so what is left
   is acyclic;
2. each node's *column* is the length of the longest path of remaining edges that reaches it
   (Kahn's order), so every edge points to the right;
3. the nodes of each column are ordered by the barycenter heuristic: the mean row of their
   neighbours to the left, then (sweeping back) to the right, a few times over;
4. a column is as wide as its widest box, and each column is centred vertically.

The flow reads left to right; the page draws the set-aside edges as curves going back. Node order
decides ties everywhere, so the same graph always gets the same picture.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Box:
    """Where one node is drawn (the top-left corner, in SVG pixels)."""

    x: float
    y: float
    width: float
    height: float
    column: int
    row: int


@dataclass(frozen=True)
class Layout:
    """The boxes by node, the edges drawn backwards (they close a cycle) and the picture's size."""

    boxes: dict[int, Box]
    back_edges: frozenset[tuple[int, int]]
    width: float
    height: float


def cycle_edges(nodes: Sequence[int], edges: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """The edges that close a cycle in a depth-first search that visits ``nodes`` in order.

    Examples:
        >>> sorted(cycle_edges([0, 1, 2], [(0, 1), (1, 2), (2, 1), (2, 2)]))
        [(2, 1), (2, 2)]
    """
    successors: dict[int, list[int]] = {node: [] for node in nodes}
    for source, target in edges:
        successors[source].append(target)
    on_path: set[int] = set()
    done: set[int] = set()
    found: set[tuple[int, int]] = set()
    for root in nodes:
        if root in done:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]  # (node, index of the next successor to look at)
        on_path.add(root)
        while stack:
            node, index = stack[-1]
            following = successors[node]
            if index == len(following):
                stack.pop()
                on_path.discard(node)
                done.add(node)
                continue
            stack[-1] = (node, index + 1)
            target = following[index]
            if target in on_path:
                found.add((node, target))
            elif target not in done:
                on_path.add(target)
                stack.append((target, 0))
    return found


def columns_of(nodes: Sequence[int], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """Each node's column: the longest path reaching it over ``edges`` (which must be acyclic).

    Examples:
        >>> columns_of([0, 1, 2], [(0, 1), (1, 2), (0, 2)])
        {0: 0, 1: 1, 2: 2}
    """
    successors: dict[int, list[int]] = {node: [] for node in nodes}
    waiting = {node: 0 for node in nodes}
    for source, target in edges:
        successors[source].append(target)
        waiting[target] += 1
    column = {node: 0 for node in nodes}
    ready = deque(node for node in nodes if not waiting[node])
    while ready:
        node = ready.popleft()
        for target in successors[node]:
            column[target] = max(column[target], column[node] + 1)
            waiting[target] -= 1
            if not waiting[target]:
                ready.append(target)
    return column


def layered_layout(
    nodes: Sequence[int],
    edges: Sequence[tuple[int, int]],
    widths: Mapping[int, float],
    *,
    box_height: float = 58.0,
    gap_x: float = 64.0,
    gap_y: float = 22.0,
    margin: float = 16.0,
    sweeps: int = 4,
) -> Layout:
    """Lay ``nodes`` out in columns, left to right along ``edges`` (``(source, target)`` pairs).

    Args:
        nodes: the node ids, in the order that breaks ties (a flow's creation order).
        edges: the connections; several between the same nodes, and cycles, are fine.
        widths: the width of each node's box.

    Examples:
        >>> layout = layered_layout([0, 1, 2], [(0, 1), (0, 2), (2, 0)], {0: 100, 1: 80, 2: 80})
        >>> [(layout.boxes[n].column, layout.boxes[n].row) for n in (0, 1, 2)]
        [(0, 0), (1, 0), (1, 1)]
        >>> sorted(layout.back_edges)
        [(2, 0)]
    """
    known = set(nodes)
    edges = [(s, t) for s, t in edges if s in known and t in known]
    back = cycle_edges(nodes, edges)
    forward = [edge for edge in edges if edge not in back]
    column = columns_of(nodes, forward)
    count = max(column.values(), default=-1) + 1
    stacks: list[list[int]] = [[] for _ in range(count)]
    for node in nodes:
        stacks[column[node]].append(node)
    before: dict[int, list[int]] = {node: [] for node in nodes}
    after: dict[int, list[int]] = {node: [] for node in nodes}
    for source, target in forward:
        before[target].append(source)
        after[source].append(target)
    row = {node: index for stack in stacks for index, node in enumerate(stack)}
    for sweep in range(sweeps):
        downwards = sweep % 2 == 0
        order = range(1, count) if downwards else range(count - 2, -1, -1)
        neighbours = before if downwards else after
        for index in order:
            stack = stacks[index]

            def centre(node: int) -> float:
                near = neighbours[node]
                return sum(row[n] for n in near) / len(near) if near else float(row[node])

            stack.sort(key=lambda node: (centre(node), row[node]))
            for position, node in enumerate(stack):
                row[node] = position
    column_width = [max((widths.get(node, 120.0) for node in stack), default=0.0) for stack in stacks]
    tallest = max((len(stack) for stack in stacks), default=0)
    height = tallest * box_height + max(0, tallest - 1) * gap_y
    boxes: dict[int, Box] = {}
    x = margin
    for index, stack in enumerate(stacks):
        own = len(stack) * box_height + max(0, len(stack) - 1) * gap_y
        top = margin + (height - own) / 2
        for position, node in enumerate(stack):
            width = widths.get(node, 120.0)
            boxes[node] = Box(x + (column_width[index] - width) / 2, top + position * (box_height + gap_y),
                              width, box_height, index, position)
        x += column_width[index] + gap_x
    loops = any(source == target for source, target in back)  # (drawn on the right of their box)
    below = any(source != target for source, target in back)  # (drawn under the graph)
    total_width = (x - gap_x + margin if stacks else 2 * margin) + (gap_x if loops else 0)
    return Layout(boxes, frozenset(back), total_width, height + 2 * margin + (box_height if below else 0))
