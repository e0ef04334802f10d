"""Building a flow's runtime records from its finalized nodes, and the static checks (D16).

Theory of operation: ``build_states`` makes one ``NodeState`` per node (keeping the records of
nodes already built, so their state survives a rebuild) and one ``Connection`` per connected input,
listed on both ends: in port order on the consumer, in the producer's own output order on the
producer. Every node then gets the number of its strongly connected component in the static graph
(the resolver looks through the head's own component only). ``unbreakable_cycle`` is the static
check that a run does before any node runs.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..control.policy import NodeOptions, resolve
from ..description.finalized import FinalizedNode
from ..description.ports import EMPTY
from ..rules.resolver import all_components, find_unbreakable_cycle
from .records import RANKS, Connection, NodeState


def cacheable(draft: Any) -> bool:
    """Whether ``@node(cache=True)`` can apply: a function node that returns a value (a class node's
    result depends on its attributes, a streaming node's readers need its chunks)."""
    return draft._is_function_node and not draft._is_generator_node()


def build_states(
    nodes: list[FinalizedNode], old_states: list[NodeState], defaults: NodeOptions | None = None
) -> list[NodeState]:
    """The records of ``nodes`` (in registration order), wired to each other; ``defaults`` are the
    flow's run-control options (a node's own win)."""
    old = {id(state.node): state for state in old_states}
    states: list[NodeState] = []
    for order, node in enumerate(nodes):
        state = old.get(id(node)) or NodeState(node, order)
        state.order = order
        state.policy = policy = resolve(state.draft._control, defaults)
        if policy is not None and policy.cache and not cacheable(state.draft):
            policy.cache = False  # a flow-wide cache=True covers the nodes it can (function nodes returning a value)
        state.rank = RANKS["normal" if policy is None else policy.priority]
        state.ports, state.inputs, state.outputs, state.stream_outputs = [], [], [], []
        object.__setattr__(node, "_runtime", state)
        states.append(state)
    by_node = {id(state.node): state for state in states}
    pending: dict[tuple[int, int, int], deque[Connection]] = {}
    by_producer: dict[int, list[Connection]] = {}
    for state in states:
        port_conns: list[Connection | None] = []
        for index in sorted(state.node._input_ports):
            port = state.node._input_ports[index]
            state.ports.append(port)
            ref = port.connected_output
            producer = None if ref is None else by_node.get(id(ref.node))
            if ref is not None and producer is None:
                raise ValueError(f"{state.node!r}.input({index}) is connected to {ref.node!r}, which is not part of this flow")
            if producer is None or ref is None:
                port_conns.append(None)
                continue
            conn = Connection(state, port, producer, ref.port_index)
            port_conns.append(conn)
            state.inputs.append(conn)
            pending.setdefault((id(producer), ref.port_index, id(state)), deque()).append(conn)
            by_producer.setdefault(id(producer), []).append(conn)
        state.port_conns = port_conns
    for producer in states:
        ordered: list[Connection] = []
        connected = producer.node._connected_output_nodes
        for output_index in sorted(connected):
            for consumer in connected[output_index]:
                queue = pending.get((id(producer), output_index, id(by_node.get(id(consumer)))))
                if queue:
                    ordered.append(queue.popleft())
        if len(ordered) != len(by_producer.get(id(producer), ())):
            listed = set(map(id, ordered))  # connections the producer does not list (hand-built flows)
            ordered.extend(c for c in by_producer[id(producer)] if id(c) not in listed)
        producer.outputs = ordered
        producer.stream_outputs = [conn for conn in ordered if conn.streaming]
    _number_components(states)
    _mark_stream_cycles(states)
    return states


def _number_components(states: list[NodeState]) -> None:
    """Give every node the id of its strongly connected component in the static graph (the order of
    the ids is the reverse topological order the search finds them in: producers first)."""
    components = all_components(states, lambda s: [(conn.port_index, conn.producer) for conn in s.inputs])
    for number, component in enumerate(components):
        for member in component:
            member.scc = number


def _mark_stream_cycles(states: list[NodeState]) -> None:
    """Mark the streaming connections that lie on a cycle of streaming connections (a ring of
    pass-through streams): after a stop cut its laps, such a ring must start again from a default."""
    streaming = lambda s: [(conn.port_index, conn.producer) for conn in s.inputs if conn.streaming]  # noqa: E731
    component_of = {member: number for number, component in enumerate(all_components(states, streaming)) for member in component}
    for state in states:
        for conn in state.inputs:
            conn.stream_cycle = conn.streaming and component_of[conn.producer] == component_of[state]


def sweep_order(states: list[NodeState]) -> list[NodeState]:
    """The nodes a fresh run wants first, in order: the ones nothing else would want, sources (no
    connected input) and members of cycles; every other node is wanted when a producer of it
    publishes. Producers' components come before their consumers', definition order within a
    component and between independent ones, so the first wave never depends on the definition
    order beyond what D1 says (the cycle starter)."""
    sizes: dict[int, int] = {}
    for state in states:
        sizes[state.scc] = sizes.get(state.scc, 0) + 1
    first = [
        state
        for state in states
        if not state.inputs or sizes[state.scc] > 1 or any(conn.producer is state for conn in state.inputs)
    ]
    return sorted(first, key=lambda state: (state.scc, state.order))


def unconnected_inputs(states: list[NodeState]) -> list[AttributeError]:
    """An error for every input that is neither connected nor defaulted."""
    return [
        AttributeError(f"{state.node!r}.input({port.port_index}) is not connected and has no default value")
        for state in states
        for conn, port in zip(state.port_conns, state.ports)
        if conn is None and port.default_value is EMPTY
    ]


def unbreakable_cycle(states: list[NodeState]) -> dict[NodeState, list[int]] | None:
    """A cycle that no default can break, as {member: ports without defaults}, or None (D16)."""
    sizes: dict[int, int] = {}
    for state in states:
        sizes[state.scc] = sizes.get(state.scc, 0) + 1
    cyclic = {state for state in states if sizes[state.scc] > 1 or any(conn.producer is state for conn in state.inputs)}
    if not cyclic:
        return None
    return find_unbreakable_cycle(
        [state for state in states if state in cyclic],
        lambda s: [(conn.port_index, conn.producer) for conn in s.inputs if conn.producer in cyclic],
        lambda s, port: s.ports[port].default_value is not EMPTY,
        lambda s: s.order,
    )
