"""Property tests of cycle resolution against networkx and the reference evaluator."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import MissingDefaultError, TerminateLimitReached
from flowno_core._graph.rules.resolver import strongly_connected_components
from flowno_core.testing.flows import FlowSpec, reference_values
from flowno_core.testing.strategies import flow_specs

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def run_to(spec: FlowSpec, generation: int):
    f = spec.build()
    try:
        f.run_until_complete(stop_at_node_generation=(generation,))
    except TerminateLimitReached:
        pass
    return f


@PROPERTY_SETTINGS
@given(st.integers(1, 12).flatmap(lambda n: st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n).map(lambda e: (n, e))))
def test_tarjan_components_equal_networkx(graph):
    count, edge_list = graph
    successors: dict[int, list[tuple[int, int]]] = {i: [] for i in range(count)}
    for port, (a, b) in enumerate(edge_list):
        successors[a].append((port, b))
    found: set[frozenset[int]] = set()
    seen: set[int] = set()
    for start in range(count):
        if start in seen:
            continue
        explored = set(seen)  # earlier searches' nodes come back as singletons: not components of this search
        for component in strongly_connected_components(start, lambda n: [] if n in explored else successors[n]):
            if component[0] not in explored:
                seen.update(component)
                found.add(frozenset(component))
    oracle = nx.DiGraph()
    oracle.add_nodes_from(range(count))
    oracle.add_edges_from(edge_list)
    assert found == {frozenset(c) for c in nx.strongly_connected_components(oracle)}


@PROPERTY_SETTINGS
@given(flow_specs(cycles=None, breakable=True), st.integers(0, 4))
def test_generations_match_the_reference_evaluator(spec, generation):
    f = run_to(spec, generation)
    expected = reference_values(spec, generation + 1)
    assert expected is not None
    ran = 0
    for index, node in enumerate(spec.finalized_nodes(f)):
        if node.generation is None:
            continue
        ran += 1
        assert len(node.generation) == 1
        k = node.generation[0]
        assert k <= generation
        assert node.get_data() == (expected[index][k],), f"node n{index} at generation {k}"
    assert ran > 0


@PROPERTY_SETTINGS
@given(flow_specs(cycles=True, breakable=False))
def test_unbreakable_cycles_fail_before_any_node_runs(spec):
    f = spec.build()
    with pytest.raises(MissingDefaultError):
        f.run_until_complete(stop_at_node_generation=(3,))
    assert all(node.evaluations == 0 for node in spec.finalized_nodes(f))
    assert any(isinstance(problem, MissingDefaultError) for problem in f._flow.check())


@PROPERTY_SETTINGS
@given(flow_specs(cycles=False, shuffle_definition_order=False), st.randoms(use_true_random=False))
def test_dag_results_do_not_depend_on_definition_order(spec, rng):
    order = list(range(len(spec.nodes)))
    rng.shuffle(order)
    first = run_to(spec, 99)
    second = run_to(spec.reordered(order), 99)
    expected = reference_values(spec, 0)
    for index, (a, b) in enumerate(zip(spec.finalized_nodes(first), spec.finalized_nodes(second))):
        assert a.generation == b.generation == (0,), "every node of a DAG runs exactly once"
        assert a.evaluations == b.evaluations == 1
        assert a.get_data() == b.get_data() == (expected[index][0],)


@PROPERTY_SETTINGS
@given(flow_specs(cycles=True, breakable=True), st.integers(0, 3))
def test_same_graph_same_execution(spec, generation):
    first = run_to(spec, generation)
    second = run_to(spec, generation)
    for a, b in zip(spec.finalized_nodes(first), spec.finalized_nodes(second)):
        assert (a.generation, a.get_data(), a.evaluations) == (b.generation, b.get_data(), b.evaluations)


def _networkx_unbreakable_cycle(count, edge_list, defaults):
    """The oracle: the static check (D16) written on networkx's components."""
    successors = {i: [(port, b) for port, (a, b) in enumerate(edge_list) if a == i] for i in range(count)}
    graph = nx.DiGraph()
    graph.add_nodes_from(range(count))
    graph.add_edges_from(edge_list)
    pending = [set(c) for c in nx.strongly_connected_components(graph)]
    while pending:
        component = pending.pop()
        if len(component) == 1 and not graph.has_edge(next(iter(component)), next(iter(component))):
            continue
        ordered = sorted(component)
        internal = {m: [p for p, q in successors[m] if q in component] for m in ordered}
        pick = next((m for m in ordered if all(p in defaults for p in internal[m])), None)
        if pick is None:
            return {m: [p for p in internal[m] if p not in defaults] for m in ordered}
        pending.extend(set(c) for c in nx.strongly_connected_components(graph.subgraph(component - {pick})))
    return None


@PROPERTY_SETTINGS
@given(
    st.integers(1, 9).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
            st.sets(st.integers(0, 3 * n)),
        )
    )
)
def test_static_cycle_check_agrees_with_networkx(graph):
    from flowno_core._graph.rules.resolver import find_unbreakable_cycle

    count, edge_list, defaults = graph
    successors = {i: [(port, b) for port, (a, b) in enumerate(edge_list) if a == i] for i in range(count)}
    ours = find_unbreakable_cycle(list(range(count)), successors.__getitem__, lambda _, port: port in defaults, int)
    oracle = _networkx_unbreakable_cycle(count, edge_list, defaults)
    assert (ours is None) == (oracle is None)


def test_running_a_flow_with_cycles_imports_no_networkx():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from flowno_core import FlowHDL, TerminateLimitReached, node\n"
        "@node\n"
        "async def Inc(x: int = 0):\n"
        "    return x + 1\n"
        "with FlowHDL() as f:\n"
        "    f.a = Inc(f.b)\n"
        "    f.b = Inc(f.a)\n"
        "try:\n"
        "    f.run_until_complete(stop_at_node_generation=(5,))\n"
        "except TerminateLimitReached:\n"
        "    pass\n"
        "assert f._flow.check() == []\n"
        "print('networkx' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
