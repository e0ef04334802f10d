"""The resolver: which nodes must run so that a wanted node can run (pure code, SPEC §2.7).

Theory of operation: ``solve(head, ...)`` follows *stale* edges upstream from ``head`` (an edge
``consumer <- producer`` is stale when the consumer has not seen a newer value than it already
consumed) with an iterative Tarjan search, so the strongly connected components of the stale
subgraph come out in reverse topological order, each exactly once. A component with no stale edge
leaving it is a *leaf*: nothing it waits for can be produced elsewhere, so one of its members has
to run now. A singleton without a self-loop is its own choice; in a cycle the member created first
(definition order, D1) whose in-cycle stale inputs all have defaults breaks it. When no member
qualifies, ``UnbreakableCycle`` carries the members and their in-cycle ports (the runtime turns it
into MissingDefaultError). Nothing here recurses, so a 100,000-node stale chain is fine (D9).

The caller controls the search with two callbacks: ``stale_edges(n)`` lists ``(port, producer)``
pairs, and ``expand(n)`` says whether to look past ``n`` at all (the runtime stops at nodes that
are busy or already waiting for their own upstream, so each node is explored once per wave).

``find_unbreakable_cycle`` is the static check of D16 on the whole graph, on the same Tarjan search
(the tests check it against networkx): it bootstraps every strongly connected component the way the
runtime would (remove the first qualifying member, recurse into what is left) and reports the first
component that cannot be broken.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from typing import Generic, NamedTuple, TypeVar

N = TypeVar("N", bound=Hashable)

Edges = Callable[[N], Sequence[tuple[int, N]]]


class UnbreakableCycle(Exception, Generic[N]):
    """A leaf component where no member has defaults for all its in-cycle stale inputs."""

    def __init__(self, members: dict[N, list[int]]) -> None:
        super().__init__(members)
        self.members = members


class Solution(NamedTuple, Generic[N]):
    """What ``solve`` found: the nodes to run (one per leaf component, in discovery order) and the
    other stale nodes it explored (``waiting`` for their upstream)."""

    chosen: list[N]
    waiting: list[N]


def strongly_connected_components(
    head: N, edges: Callable[[N], Sequence[tuple[int, N]]], done: Collection[N] = ()
) -> list[list[N]]:
    """Tarjan's algorithm without recursion, from ``head`` along ``edges``.

    Components come out in reverse topological order (a component after everything it reaches).
    Nodes in ``done`` (components found by an earlier search) are not entered.
    """
    index: dict[N, int] = {head: 0}
    low: dict[N, int] = {head: 0}
    on_stack: set[N] = {head}
    stack: list[N] = [head]
    components: list[list[N]] = []
    counter = 1
    work: list[tuple[N, Iterable[tuple[int, N]]]] = [(head, iter(edges(head)))]
    while work:
        node, successors = work[-1]
        descended = False
        for _, successor in successors:  # type: ignore[attr-defined]
            if successor in done:
                continue
            if successor not in index:
                index[successor] = low[successor] = counter
                counter += 1
                stack.append(successor)
                on_stack.add(successor)
                work.append((successor, iter(edges(successor))))
                descended = True
                break
            if successor in on_stack and index[successor] < low[node]:
                low[node] = index[successor]
        if descended:
            continue
        work.pop()
        if work:
            parent = work[-1][0]
            if low[node] < low[parent]:
                low[parent] = low[node]
        if low[node] == index[node]:
            component: list[N] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member is node:
                    break
            components.append(component)
    return components


def solve(
    head: N,
    stale_edges: Edges[N],
    expand: Callable[[N], bool],
    has_default: Callable[[N, int], bool],
    order: Callable[[N], int],
) -> Solution[N]:
    """Find what must run for ``head``: one chosen node per leaf component of its stale upstream."""
    cache: dict[N, Sequence[tuple[int, N]]] = {}

    def edges(node: N) -> Sequence[tuple[int, N]]:
        found = cache.get(node)
        if found is None:
            found = stale_edges(node) if expand(node) else ()
            cache[node] = found
        return found

    components = strongly_connected_components(head, edges)
    chosen: list[N] = []
    waiting: list[N] = []
    for component in components:
        members = set(component)
        is_leaf = all(producer in members for member in component for _, producer in cache[member])
        if not is_leaf:
            waiting.extend(component)
            continue
        ordered = sorted(component, key=order)
        internal = {member: [port for port, producer in cache[member] if producer in members] for member in ordered}
        pick = next((m for m in ordered if all(has_default(m, port) for port in internal[m])), None)
        if pick is None:
            raise UnbreakableCycle({m: [p for p in internal[m] if not has_default(m, p)] for m in ordered})
        chosen.append(pick)
        others = [member for member in ordered if member is not pick]
        waiting.extend(others)
    return Solution(chosen, waiting)


def find_unbreakable_cycle(
    nodes: Sequence[N],
    edges: Callable[[N], Sequence[tuple[int, N]]],
    has_default: Callable[[N, int], bool],
    order: Callable[[N], int],
) -> dict[N, list[int]] | None:
    """The static check (D16): a component no default can break, as {member: ports}, or None."""
    pending = [set(component) for component in all_components(nodes, edges)]
    while pending:
        component = pending.pop()
        if len(component) == 1:
            (only,) = component
            if all(producer is not only for _, producer in edges(only)):
                continue  # a single node without a self-loop is no cycle
        ordered = sorted(component, key=order)
        internal = {m: [port for port, producer in edges(m) if producer in component] for m in ordered}
        pick = next((m for m in ordered if all(has_default(m, port) for port in internal[m])), None)
        if pick is None:
            return {m: [p for p in internal[m] if not has_default(m, p)] for m in ordered}
        rest = component - {pick}  # the cycle starts at ``pick``: what is left must start too
        pending.extend(
            set(c) for c in all_components(list(rest), lambda n: [(p, q) for p, q in edges(n) if q in rest])
        )
    return None


def all_components(nodes: Sequence[N], edges: Callable[[N], Sequence[tuple[int, N]]]) -> list[list[N]]:
    """The strongly connected components of the graph on ``nodes`` (each node in exactly one)."""
    seen: set[N] = set()
    found: list[list[N]] = []
    for node in nodes:
        if node in seen:
            continue
        for component in strongly_connected_components(node, edges, seen):
            seen.update(component)
            found.append(component)
    return found
