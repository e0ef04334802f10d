"""A flow's wiring as plain data, and which default starts each cycle.

Theory of operation: tools read a flow through its nodes' input ports only (every connection is
recorded on the consumer's port), so the same code reads finalized nodes and, where a block failed
to finalize, its draft nodes. ``wires`` lists one ``Wire`` per connected input, in node order then
port order. ``cycles`` repeats, on the static graph, what the resolver does the first time a run
meets a cycle (rules/resolver.py, D1): in each strongly connected component the member created
first whose inputs from inside the component all have defaults starts it (those inputs read their
defaults), the component without that member is searched again, and a component where no member
qualifies is *stuck* (the run would raise MissingDefaultError). The strongly connected components
come from networkx (imported when a flow is analysed).

Invariants: node order is the order of the list given (a flow's registration order, which is its
creation order), so the same flow always gives the same answer; nothing here changes a node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._graph.description.draft import Constant


@dataclass(frozen=True)
class Wire:
    """Output ``output`` of ``producer`` feeds input ``input`` of ``consumer``; ``streaming`` when
    that input is declared in ``stream_in`` (it reads the producer's chunks as they come)."""

    producer: Any
    output: int
    consumer: Any
    input: int
    streaming: bool


@dataclass(frozen=True)
class CycleStart:
    """``node`` starts a cycle: its ``ports`` (inputs from inside the cycle) read their defaults."""

    node: Any
    ports: tuple[int, ...]


@dataclass(frozen=True)
class StuckCycle:
    """A cycle no default can start: its members in creation order, and for each member the inputs
    from inside the cycle that have no default (giving all of one member's a default fixes it)."""

    members: tuple[Any, ...]
    missing: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class Cycles:
    """What ``cycles`` found: the cycles that start, and the ones that cannot."""

    starts: tuple[CycleStart, ...]
    stuck: tuple[StuckCycle, ...]


def draft_of(node: Any) -> Any:
    """The draft behind a finalized node (a draft is its own)."""
    return getattr(node, "_draft_node", node)


def is_constant(node: Any) -> bool:
    """Whether the node is a hidden ``Constant`` (``Add(1, f.x)`` makes one for the ``1``)."""
    return isinstance(draft_of(node), Constant)


def streams(node: Any) -> bool | None:
    """Whether the node's code is an async generator (it publishes chunks); None when its code does
    not say (a hand-written node class whose ``call`` may return a generator)."""
    draft = draft_of(node)
    if isinstance(draft, Constant):
        return False
    cls = type(draft)
    if cls._is_function_node or cls._is_stateful_node:
        return cls._is_generator_node()
    return None


def wires(nodes: Sequence[Any]) -> list[Wire]:
    """Every connection of the nodes, in node order then input order."""
    found: list[Wire] = []
    for consumer in nodes:
        ports = consumer._input_ports
        for index in sorted(ports):
            port = ports[index]
            ref = port.connected_output
            if ref is not None:
                found.append(Wire(ref.node, int(ref.port_index), consumer, int(index), port.minimum_run_level >= 1))
    return found


def cycles(nodes: Sequence[Any]) -> Cycles:
    """Which member starts each cycle and with which defaults, and the cycles nothing can start."""
    import networkx as nx  # type: ignore[import-untyped]

    position = {id(node): order for order, node in enumerate(nodes)}
    feeds: dict[int, list[tuple[int, int]]] = {order: [] for order in range(len(nodes))}  # consumer -> (port, producer)
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(nodes)))
    for wire in wires(nodes):
        producer = position.get(id(wire.producer))
        if producer is None:
            continue  # a producer outside the given nodes cannot close a cycle among them
        consumer = position[id(wire.consumer)]
        feeds[consumer].append((wire.input, producer))
        graph.add_edge(producer, consumer)

    def cyclic_components(members: set[int]) -> list[set[int]]:
        view = graph.subgraph(members)
        return [
            set(component)
            for component in nx.strongly_connected_components(view)
            if len(component) > 1 or view.has_edge(next(iter(component)), next(iter(component)))
        ]

    def has_default(member: int, port: int) -> bool:
        return bool(nodes[member]._input_ports[port].has_default)

    starts: list[CycleStart] = []
    stuck: list[StuckCycle] = []
    pending = sorted(cyclic_components(set(feeds)), key=min, reverse=True)
    while pending:
        component = pending.pop()
        members = sorted(component)
        inside = {member: tuple(port for port, producer in feeds[member] if producer in component) for member in members}
        starter = next((m for m in members if all(has_default(m, port) for port in inside[m])), None)
        if starter is None:
            missing = tuple(tuple(p for p in inside[m] if not has_default(m, p)) for m in members)
            stuck.append(StuckCycle(tuple(nodes[m] for m in members), missing))
            continue
        starts.append(CycleStart(nodes[starter], inside[starter]))
        pending.extend(sorted(cyclic_components(component - {starter}), key=min, reverse=True))
    return Cycles(tuple(starts), tuple(stuck))
