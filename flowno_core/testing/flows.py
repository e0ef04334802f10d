"""Random flows for property tests: a plain description, a builder, and a reference evaluator.

Theory of operation: a ``FlowSpec`` is a list of ``NodeSpec`` (which earlier-or-later nodes feed
each input, and which inputs have defaults). ``spec.build()`` turns it into a real ``FlowHDL``
(one hand-written DraftNode class per node) whose nodes compute a fixed arithmetic function of
their inputs; sources return ``100 * index + k`` on their k-th evaluation. ``reference_values``
computes, without any event loop, what generation k of every node must hold: cycles are broken
the way SPEC §2.7/§2.8 says (in each strongly connected component the first member, in
definition order, whose in-cycle inputs all have defaults starts the cycle; those inputs are
*stitched*, i.e. read the producer's previous generation, or the default at generation 0), and
everything else is evaluated in lockstep, generation by generation, in topological order.

The hypothesis strategy ``flow_specs`` generates DAGs or graphs with cycles, with or without a
breakable default, so users can property-test their own cycle resolution:

    @given(flow_specs(cycles=True, breakable=True))
    def test_matches_reference(spec):
        f = spec.build()
        try:
            f.run_until_complete(stop_at_node_generation=(4,))
        except TerminateLimitReached:
            pass
        expected = reference_values(spec, 4)
        for index, node in enumerate(spec.finalized_nodes(f)):
            if node.generation is not None:
                assert node.get_data() == (expected[index][node.generation[0]],)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._graph.description.draft import DraftNode
from .._graph.runtime.flowhdl import FlowHDL

MODULUS = 1_000_003


@dataclass(frozen=True)
class NodeSpec:
    """One node: ``inputs[p]`` is the index of the node feeding port p; ``defaults[p]`` its default
    (None = no default)."""

    inputs: tuple[int, ...] = ()
    defaults: tuple[int | None, ...] = ()

    def __post_init__(self) -> None:
        if len(self.defaults) != len(self.inputs):
            object.__setattr__(self, "defaults", tuple(self.defaults) + (None,) * (len(self.inputs) - len(self.defaults)))


def compute(index: int, args: Sequence[int], evaluation: int) -> int:
    """What node ``index`` returns: sources count their evaluations, others mix their inputs."""
    if not args:
        return 100 * index + evaluation
    total = index + 1
    for position, value in enumerate(args):
        total = (total * 31 + value * (position + 3)) % MODULUS
    return total


@dataclass(frozen=True)
class FlowSpec:
    """A flow as plain data (see the module docstring)."""

    nodes: tuple[NodeSpec, ...]
    order: tuple[int, ...] = field(default=())  # definition order (default: 0..n-1)

    def definition_order(self) -> tuple[int, ...]:
        return self.order or tuple(range(len(self.nodes)))

    def edges(self) -> list[tuple[int, int, int]]:
        """(consumer, port, producer) for every input."""
        return [(i, p, src) for i, node in enumerate(self.nodes) for p, src in enumerate(node.inputs)]

    def reordered(self, order: Sequence[int]) -> "FlowSpec":
        return FlowSpec(self.nodes, tuple(order))

    def build(self, clock: Any = None) -> FlowHDL:
        """A FlowHDL whose attribute ``n<i>`` is node i (defined in ``definition_order()``)."""
        classes = [_node_class(i, spec) for i, spec in enumerate(self.nodes)]
        with FlowHDL(clock=clock) as f:
            for i in self.definition_order():
                args = [getattr(f, f"n{src}") for src in self.nodes[i].inputs]
                setattr(f, f"n{i}", classes[i](*args))
        return f

    def finalized_nodes(self, f: FlowHDL) -> list[Any]:
        return [getattr(f, f"n{i}") for i in range(len(self.nodes))]


def _node_class(index: int, spec: NodeSpec) -> type[DraftNode]:
    defaults = {p: d for p, d in enumerate(spec.defaults) if d is not None}

    class Generated(DraftNode):
        _minimum_run_level: ClassVar[list[int]] = [0] * len(spec.inputs)
        _default_values: ClassVar[dict[int, Any]] = defaults
        evaluations = 0

        async def call(self, *args: int) -> tuple[int]:
            value = compute(index, args, self.evaluations)
            self.evaluations += 1
            return (value,)

    Generated.__name__ = Generated.__qualname__ = f"N{index}"
    return Generated


# -- the reference evaluator ------------------------------------------------------------------------
def _sccs(n: int, edges: dict[int, list[int]], members: set[int]) -> list[set[int]]:
    """Strongly connected components of the subgraph on ``members`` (consumer -> producer edges)."""
    import networkx as nx  # type: ignore[import-untyped]

    graph = nx.DiGraph()
    graph.add_nodes_from(members)
    for consumer in members:
        for producer in edges[consumer]:
            if producer in members:
                graph.add_edge(consumer, producer)
    return [set(c) for c in nx.strongly_connected_components(graph)]


def stitched_ports(spec: FlowSpec) -> set[tuple[int, int]] | None:
    """The (consumer, port) edges that start a cycle, or None if some cycle cannot be broken."""
    n = len(spec.nodes)
    rank = {node: position for position, node in enumerate(spec.definition_order())}
    producers = {i: list(node.inputs) for i, node in enumerate(spec.nodes)}
    stitched: set[tuple[int, int]] = set()
    pending = _sccs(n, producers, set(range(n)))
    while pending:
        component = pending.pop()
        if len(component) == 1:
            (only,) = component
            if only not in producers[only]:
                continue
        chosen = None
        for member in sorted(component, key=rank.__getitem__):
            ports = [p for p, src in enumerate(spec.nodes[member].inputs) if src in component]
            if all(spec.nodes[member].defaults[p] is not None for p in ports):
                chosen = member
                stitched.update((member, p) for p in ports)
                break
        if chosen is None:
            return None
        pending.extend(_sccs(n, producers, component - {chosen}))
    return stitched


def reference_values(spec: FlowSpec, generations: int) -> list[list[int]] | None:
    """``values[i][k]``: what node i holds at generation (k,), for k = 0..generations.

    None when a cycle cannot be broken (the flow must raise MissingDefaultError).
    """
    stitched = stitched_ports(spec)
    if stitched is None:
        return None
    import networkx as nx  # type: ignore[import-untyped]

    n = len(spec.nodes)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for consumer, port, producer in spec.edges():
        if (consumer, port) not in stitched:
            graph.add_edge(producer, consumer)
    order = list(nx.lexicographical_topological_sort(graph))
    values: list[list[int]] = [[] for _ in range(n)]
    for k in range(generations + 1):
        for i in order:
            args = []
            node = spec.nodes[i]
            for port, producer in enumerate(node.inputs):
                if (i, port) in stitched:
                    default = node.defaults[port]
                    args.append(default if k == 0 else values[producer][k - 1])  # type: ignore[arg-type]
                else:
                    args.append(values[producer][k])
            values[i].append(compute(i, args, k))
    return values


def has_cycle(spec: FlowSpec) -> bool:
    n = len(spec.nodes)
    producers = {i: list(node.inputs) for i, node in enumerate(spec.nodes)}
    return any(len(c) > 1 or (next(iter(c)) in producers[next(iter(c))]) for c in _sccs(n, producers, set(range(n))))
