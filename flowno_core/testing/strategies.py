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
        shuffle_definition_order: define the nodes in a random order (D1 and D8 depend on it).
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
