"""The pure resolver (SPEC §2.7, D1, D9, D16) against independent oracles: networkx for strongly
connected components, a small model for ``solve`` (one choice per leaf component, the first member
in definition order whose in-component ports all have defaults), and a simulation of a first lap
for the static check; then whole flows built from random graphs (the outcome only depends on
whether some cycle cannot be broken)."""

from __future__ import annotations

import inspect

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import DeadlockError, DraftNode, MissingDefaultError, TerminateLimitReached
from flowno_core._graph.description.draft import OriginalCall
from flowno_core._graph.rules.resolver import (
    UnbreakableCycle,
    find_unbreakable_cycle,
    solve,
    strongly_connected_components,
)

from .helpers import vflow

SETTINGS = settings(derandomize=True, max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@st.composite
def graphs(draw, max_nodes=7):
    """Node i has ports 0..k-1, each fed by some node (possibly itself), each with or without a
    default. Returns (n, ports, defaults, order) with ports[i] = [producer of port 0, ...]."""
    n = draw(st.integers(1, max_nodes))
    ports = {i: draw(st.lists(st.integers(0, n - 1), min_size=0, max_size=3)) for i in range(n)}
    defaults = {(i, p) for i in range(n) for p in range(len(ports[i])) if draw(st.booleans())}
    order = draw(st.permutations(list(range(n))))
    rank = {node: position for position, node in enumerate(order)}
    return n, ports, defaults, rank


def _edges(ports):
    return lambda node: [(port, producer) for port, producer in enumerate(ports[node])]


def _nx_graph(n, ports):
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    for consumer in range(n):
        for producer in ports[consumer]:
            graph.add_edge(consumer, producer)
    return graph


# ------------------------------------------------------------------------------------ SCCs
@SETTINGS
@given(graphs(), st.data())
def test_components_equal_networkx_and_come_in_reverse_topological_order(graph, data):
    n, ports, _, _ = graph
    head = data.draw(st.integers(0, n - 1))
    components = strongly_connected_components(head, _edges(ports))
    nxg = _nx_graph(n, ports)
    reachable = nx.descendants(nxg, head) | {head}
    expected = {frozenset(c) for c in nx.strongly_connected_components(nxg.subgraph(reachable))}
    assert [len(c) for c in components] == [len(set(c)) for c in components]  # no duplicates
    assert {frozenset(c) for c in components} == expected
    position = {member: i for i, component in enumerate(components) for member in component}
    for consumer in reachable:
        for producer in ports[consumer]:
            # a component comes after everything it reaches
            assert position[producer] <= position[consumer]


def test_components_of_a_100k_chain_without_recursion():
    n = 100_000
    ports = {i: [i + 1] for i in range(n - 1)}
    ports[n - 1] = []
    components = strongly_connected_components(0, _edges(ports))
    assert len(components) == n
    assert components[0] == [n - 1] and components[-1] == [0]


def test_components_of_a_100k_ring_without_recursion():
    n = 100_000
    ports = {i: [(i + 1) % n] for i in range(n)}
    (component,) = strongly_connected_components(0, _edges(ports))
    assert sorted(component) == list(range(n))


# ------------------------------------------------------------------------------------ solve
def _model_solve(n, ports, defaults, rank, head):
    nxg = _nx_graph(n, ports)
    reachable = nx.descendants(nxg, head) | {head}
    sub = nxg.subgraph(reachable)
    chosen, unbreakable = set(), []
    for component in nx.strongly_connected_components(sub):
        leaf = all(producer in component for member in component for producer in ports[member])
        if not leaf:
            continue
        ordered = sorted(component, key=rank.__getitem__)
        internal = {m: [p for p, producer in enumerate(ports[m]) if producer in component] for m in ordered}
        pick = [m for m in ordered if all((m, p) in defaults for p in internal[m])]
        if pick:
            chosen.add(pick[0])
        else:
            unbreakable.append({m: [p for p in internal[m] if (m, p) not in defaults] for m in ordered})
    return reachable, chosen, unbreakable


@SETTINGS
@given(graphs(), st.data())
def test_solve_picks_one_node_per_leaf_component_in_definition_order(graph, data):
    n, ports, defaults, rank = graph
    head = data.draw(st.integers(0, n - 1))
    reachable, chosen, unbreakable = _model_solve(n, ports, defaults, rank, head)
    call = lambda: solve(  # noqa: E731
        head, _edges(ports), lambda node: True, lambda node, port: (node, port) in defaults, rank.__getitem__
    )
    if unbreakable:
        with pytest.raises(UnbreakableCycle) as info:
            call()
        members = info.value.members
        assert members in unbreakable
        assert list(members) == sorted(members, key=rank.__getitem__)  # D1: definition order
        return
    solution = call()
    assert len(solution.chosen) == len(set(solution.chosen))  # each leaf once
    assert set(solution.chosen) == chosen
    assert len(solution.waiting) == len(set(solution.waiting))
    assert set(solution.waiting) | set(solution.chosen) == reachable
    assert not set(solution.waiting) & set(solution.chosen)


def test_solve_stops_where_expand_says_so():
    # 0 <- 1 <- 2 <- 3: not expanding 2 makes 2 a leaf
    ports = {0: [1], 1: [2], 2: [3], 3: []}
    solution = solve(0, _edges(ports), lambda node: node != 2, lambda node, port: False, lambda node: node)
    assert solution.chosen == [2]
    assert set(solution.waiting) == {0, 1}


def test_solve_on_a_diamond_returns_the_source_once():
    ports = {"sink": ["a", "b"], "a": ["src"], "b": ["src"], "src": []}
    order = {"sink": 0, "a": 1, "b": 2, "src": 3}
    solution = solve("sink", _edges(ports), lambda node: True, lambda node, port: False, order.__getitem__)
    assert solution.chosen == ["src"]


def test_exponential_reconverging_dag_is_solved_once_per_leaf():
    # 60 layers of diamonds: flowno's leaf search without a visited set explodes here
    ports: dict = {}
    for layer in range(60):
        ports[("join", layer)] = [("l", layer), ("r", layer)]
        below = ("join", layer + 1) if layer < 59 else "src"
        ports[("l", layer)] = [below]
        ports[("r", layer)] = [below]
    ports["src"] = []
    names = list(ports)
    solution = solve(("join", 0), _edges(ports), lambda node: True, lambda node, port: False, names.index)
    assert solution.chosen == ["src"]
    assert len(solution.waiting) == len(ports) - 1


# ------------------------------------------------------------------------------------ static check
def _first_lap_blocks(n, ports, defaults, rank):
    """Simulate the first lap: repeatedly run the first qualifying member of a leaf component of the
    nodes that have not run yet. True if it gets stuck (some cycle cannot be broken)."""
    pending = set(range(n))
    while pending:
        sub = _nx_graph(n, ports).subgraph(pending)
        progressed = False
        for component in nx.strongly_connected_components(sub):
            if any(producer in pending and producer not in component for m in component for producer in ports[m]):
                continue  # not a leaf
            ordered = sorted(component, key=rank.__getitem__)
            for member in ordered:
                internal = [p for p, producer in enumerate(ports[member]) if producer in component]
                if all((member, p) in defaults for p in internal):
                    pending.discard(member)
                    progressed = True
                    break
            else:
                return True
        assert progressed
    return False


@SETTINGS
@given(graphs())
def test_static_check_agrees_with_a_simulated_first_lap(graph):
    n, ports, defaults, rank = graph
    found = find_unbreakable_cycle(list(range(n)), _edges(ports), lambda m, p: (m, p) in defaults, rank.__getitem__)
    assert (found is not None) == _first_lap_blocks(n, ports, defaults, rank)
    if found is not None:
        members = set(found)
        assert list(found) == sorted(found, key=rank.__getitem__)
        assert nx.is_strongly_connected(_nx_graph(n, ports).subgraph(members))
        for member, missing in found.items():
            internal = [p for p, producer in enumerate(ports[member]) if producer in members]
            assert missing and all(p in internal and (member, p) not in defaults for p in missing)


# ------------------------------------------------------------------------------------ whole flows
async def _signature_source(self, *xs):  # pragma: no cover - only its signature is used
    ...


def _node_class(index, arity, defaulted):
    async def call(self, *xs):
        self.calls += 1
        return (index + sum(xs),)

    return type(
        f"G{index}",
        (DraftNode,),
        {
            "_minimum_run_level": [0] * arity,
            "_default_values": {p: 0 for p in defaulted},
            "_original_call": OriginalCall(inspect.signature(_signature_source), _signature_source.__code__, f"G{index}"),
            "_instance_counter": 0,
            "calls": 0,
            "call": call,
        },
    )


@settings(derandomize=True, max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs(max_nodes=6))
def test_random_flows_never_hang_and_fail_statically_exactly_when_a_cycle_cannot_be_broken(graph):
    n, ports, defaults, rank = graph
    order = sorted(range(n), key=rank.__getitem__)
    with vflow() as f:
        for i in order:
            cls = _node_class(i, len(ports[i]), [p for p in range(len(ports[i])) if (i, p) in defaults])
            setattr(f, f"g{i}", cls(*[getattr(f, f"g{j}") for j in ports[i]]))
    nodes = [getattr(f, f"g{i}") for i in range(n)]
    blocked = _first_lap_blocks(n, ports, defaults, rank)
    cyclic = not nx.is_directed_acyclic_graph(_nx_graph(n, ports))
    if blocked:
        with pytest.raises(MissingDefaultError):
            f.run_until_complete(stop_at_node_generation=(3,))
        assert all(node.calls == 0 for node in nodes)  # D16: before any node runs
        return
    try:
        f.run_until_complete(stop_at_node_generation=(3,))
    except TerminateLimitReached:
        assert cyclic
    except DeadlockError as error:  # pragma: no cover - the assertion below reports it
        pytest.fail(f"deadlock: {error}")
    else:
        assert not cyclic
        assert all(node.calls == 1 and node.generation == (0,) for node in nodes)
