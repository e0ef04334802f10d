"""Hypothesis strategies for random flows (requires ``hypothesis``, the ``test`` extra).

Example::

    from hypothesis import given
    from flowno_core.testing.strategies import flow_specs

    @given(flow_specs(cycles=True, breakable=True))
    def test_my_property(spec):
        f = spec.build()
        ...
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from .flows import FlowSpec, NodeSpec, has_cycle, stitched_ports


@st.composite
def flow_specs(
    draw: Any,
    max_nodes: int = 7,
    max_inputs: int = 3,
    cycles: bool | None = None,
    breakable: bool | None = True,
    shuffle_definition_order: bool = True,
) -> FlowSpec:
    """A random ``FlowSpec``.

    Args:
        max_nodes: at most this many nodes (at least 1; 2 when cycles=True).
        max_inputs: at most this many inputs per node.
        cycles: True = at least one cycle, False = a DAG, None = either.
        breakable: True = every cycle can be started by defaults, False = some cycle cannot
            (the flow must raise MissingDefaultError), None = either.
        shuffle_definition_order: define the nodes in a random order (cycle breaking and concurrency must not depend on it).
    """
    low = 2 if cycles else 1
    count = draw(st.integers(min_value=low, max_value=max(low, max_nodes)))
    default_probability = 0.0 if breakable is False else (0.85 if breakable else 0.5)
    nodes = []
    for index in range(count):
        if cycles is False:
            candidates = list(range(index))
        else:
            candidates = list(range(count))
        inputs: list[int] = []
        defaults: list[int | None] = []
        if candidates:
            arity = draw(st.integers(min_value=0, max_value=max_inputs))
            for _ in range(arity):
                inputs.append(draw(st.sampled_from(candidates)))
                has_default = draw(st.floats(min_value=0, max_value=1)) < default_probability
                defaults.append(draw(st.integers(min_value=0, max_value=9)) if has_default else None)
        nodes.append(NodeSpec(tuple(inputs), tuple(defaults)))
    order = tuple(range(count))
    if shuffle_definition_order:
        order = tuple(draw(st.permutations(list(range(count)))))
    spec = FlowSpec(tuple(nodes), order)
    cyclic = has_cycle(spec)
    if cycles is True and not cyclic:
        # close a loop: node 0 and the last node feed each other (node 0's new input defaulted
        # unless an unbreakable cycle is wanted)
        last = count - 1
        first = spec.nodes[0]
        loop_default = draw(st.integers(0, 9)) if breakable is not False else None
        nodes[0] = NodeSpec(first.inputs + (last,), first.defaults + (loop_default,))
        nodes[last] = NodeSpec(nodes[last].inputs + (0,), nodes[last].defaults + (None,))
        spec = FlowSpec(tuple(nodes), order)
        cyclic = True
    if cycles is False:
        assert not cyclic
    if breakable is not None and cyclic:
        ok = stitched_ports(spec) is not None
        assume(ok == breakable)
    if breakable is False:
        assume(cyclic)
    return spec


SHAPES = ("random", "chain", "diamond", "self_loop", "ring")


def _shaped(draw: Any, shape: str, max_nodes: int) -> list[NodeSpec]:
    """The plain nodes of one named shape (node 0 is always a source)."""
    d = lambda: draw(st.integers(0, 9))  # noqa: E731 - a default value
    if shape == "chain":
        count = draw(st.integers(1, max(1, max_nodes)))
        return [NodeSpec()] + [NodeSpec((i - 1,)) for i in range(1, count)]
    if shape == "diamond":  # 0 fans out to 1 and 2, which join in 3 (optionally read on by 4)
        tail = [NodeSpec((3,))] if max_nodes > 4 and draw(st.booleans()) else []
        return [NodeSpec(), NodeSpec((0,)), NodeSpec((0,)), NodeSpec((1, 2))] + tail
    if shape == "self_loop":  # a source feeding a node that also reads itself: Inc(f.i, f.s)
        loop = NodeSpec((1, 0), (d(), draw(st.none() | st.integers(0, 9))))
        tail = [NodeSpec((1,))] if max_nodes > 2 and draw(st.booleans()) else []
        return [NodeSpec(), loop] + tail
    # a ring 1 -> 2 -> ... -> count-1 -> 1 started by node 1's default, fed by source 0
    count = draw(st.integers(3, max(3, max_nodes)))
    nodes = [NodeSpec(), NodeSpec((count - 1, 0), (d(), None))]
    return nodes + [NodeSpec((i - 1,)) for i in range(2, count)]


@st.composite
def stream_flow_specs(
    draw: Any,
    max_nodes: int = 6,
    max_inputs: int = 2,
    stream_probability: float = 0.35,
    stream_in_probability: float = 0.4,
    max_chunks: int = 3,
) -> FlowSpec:
    """A random ``FlowSpec`` whose nodes may stream, every cycle startable by defaults.

    The shape is drawn first: ``flow_specs`` (random DAGs or cycles), a chain, a diamond (fan-out
    then fan-in), a self-loop fed by a source, or a ring fed by a source; the definition order is
    shuffled. Then each node becomes a streaming producer (``chunks`` in 1..max_chunks) with
    ``stream_probability``, and each port not fed by its own node a ``stream_in`` port with
    ``stream_in_probability`` (a streaming node keeps at most one: it passes that stream through).
    So the flows hold streaming producers, stream readers (a plain node with stream ports),
    pass-through nodes and level-0 consumers of streaming producers, in chains, fans and cycles.
    """
    shape = draw(st.sampled_from(SHAPES))
    if shape == "random":
        plain = list(draw(flow_specs(max_nodes=max_nodes, max_inputs=max_inputs, cycles=None, breakable=True)).nodes)
    else:
        plain = _shaped(draw, shape, max_nodes)
    nodes = []
    for index, spec in enumerate(plain):
        chunks = draw(st.integers(1, max_chunks)) if draw(st.floats(0, 1)) < stream_probability else 0
        stream_in: list[bool] = []
        for producer in spec.inputs:
            wanted = producer != index and draw(st.floats(0, 1)) < stream_in_probability
            stream_in.append(wanted and not (chunks and any(stream_in)))
        nodes.append(NodeSpec(spec.inputs, spec.defaults, chunks, tuple(stream_in)))
    order = tuple(draw(st.permutations(list(range(len(nodes))))))
    return FlowSpec(tuple(nodes), order)
