"""The flow runtime: exactly-once evaluation on DAGs in every definition order (SPEC §6.1 item 5),
glitch-free propagation on random re-converging DAGs (hypothesis, own small generator), concurrency
of disconnected parts in virtual time (D8), re-running (D5) and scale without recursion (D9)."""

from __future__ import annotations

import collections
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import Stream, TerminateLimitReached, node, sleep

from .helpers import now, vflow


# ------------------------------------------------------------------------------------ §6.1 item 5
def _four_node_dag(order, counts):
    @node
    async def Base():
        counts["base"] += 1
        return 1

    @node
    async def Mid(b):
        counts["mid"] += 1
        return b + 1

    @node
    async def Left(b, m):
        counts["left"] += 1
        return b + m

    @node
    async def Right(b, m):
        counts["right"] += 1
        return b * m

    with vflow() as f:
        for name in order:
            if name == "base":
                f.base = Base()
            elif name == "mid":
                f.mid = Mid(f.base)
            elif name == "left":
                f.left = Left(f.base, f.mid)
            else:
                f.right = Right(f.base, f.mid)
    return f


@pytest.mark.parametrize("order", list(itertools.permutations(["base", "mid", "left", "right"])))
def test_base_mid_left_right_evaluates_each_node_once_in_every_order(order):
    counts = collections.Counter()
    f = _four_node_dag(order, counts)
    f.run_until_complete()
    assert counts == {"base": 1, "mid": 1, "left": 1, "right": 1}
    assert [f.base.generation, f.mid.generation, f.left.generation, f.right.generation] == [(0,)] * 4
    assert (f.left.get_data(), f.right.get_data()) == ((3,), (2,))
    f.run_until_complete()  # a re-run evaluates each node exactly once more (D5)
    assert counts == {"base": 2, "mid": 2, "left": 2, "right": 2}
    assert f.right.generation == (1,)


@pytest.mark.parametrize("order", list(itertools.permutations(["src", "a", "b", "sink"])))
def test_diamond_evaluates_each_node_once(order):
    counts = collections.Counter()

    @node
    async def Src():
        counts["src"] += 1
        return 2

    @node
    async def Op(x, k):
        counts[k] += 1
        return x * (3 if k == "a" else 5)

    @node
    async def Sink(a, b):
        counts["sink"] += 1
        return a + b

    with vflow() as f:
        for name in order:
            if name == "src":
                f.src = Src()
            elif name == "sink":
                f.sink = Sink(f.a, f.b)
            else:
                setattr(f, name, Op(getattr(f, "src"), name))
    f.run_until_complete()
    assert counts == {"src": 1, "a": 1, "b": 1, "sink": 1}
    assert f.sink.get_data() == (16,)


# ------------------------------------------------------------------------------------ random DAGs
log: list = []


@node
class Mix:
    """A node with any number of inputs; ``label`` is set after creation (not a port)."""

    label = -1

    async def call(self, *xs):
        log.append((self.label, tuple(x[0] for x in xs)))
        if self.label % 3 == 1:
            await sleep(0.1 * self.label)  # some nodes take (virtual) time: evaluations overlap
        return (xs[0][0] if xs else 0, self.label + sum(x[1] for x in xs))


@node
async def Tick(previous=None):
    lap = 0 if previous is None else previous[0] + 1
    log.append((0, (lap,)))
    return (lap, 0)


@st.composite
def dags(draw, max_nodes=7):
    """(number of nodes, inputs of each node > 0 (indices below it), definition order)."""
    n = draw(st.integers(2, max_nodes))
    inputs = {
        i: sorted(set(draw(st.lists(st.integers(0, i - 1), min_size=1, max_size=3)))) for i in range(1, n)
    }
    order = draw(st.permutations(list(range(n))))
    return n, inputs, order


def _build_dag(n, inputs, order, source):
    with vflow() as f:
        for i in order:
            if i == 0:
                f.n0 = source(f)
            else:
                draft = Mix(*[getattr(f, f"n{j}") for j in inputs[i]])
                draft.label = i
                setattr(f, f"n{i}", draft)
    return f


def _reference(n, inputs):
    value = {0: 0}
    for i in range(1, n):
        value[i] = i + sum(value[j] for j in inputs[i])
    return value


DAG_SETTINGS = settings(derandomize=True, max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@DAG_SETTINGS
@given(dags())
def test_random_acyclic_flows_evaluate_every_node_once_with_the_reference_values(dag):
    n, inputs, order = dag

    @node
    async def Zero():
        log.append((0, ()))
        return (0, 0)

    log.clear()
    f = _build_dag(n, inputs, order, lambda f: Zero())
    f.run_until_complete()
    per_node = collections.Counter(label for label, _ in log)
    assert per_node == {i: 1 for i in range(n)}
    expected = _reference(n, inputs)
    for i in range(n):
        node_i = getattr(f, f"n{i}")
        assert node_i.generation == (0,)
        assert node_i.get_data() == ((0, expected[i]),)


@DAG_SETTINGS
@given(dags(), st.integers(1, 4))
def test_random_dags_driven_by_a_cycle_see_every_generation_once_and_glitch_free(dag, laps):
    n, inputs, order = dag
    log.clear()
    f = _build_dag(n, inputs, order, lambda f: Tick(f.n0))
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.n0: (laps,)})
    seen = collections.defaultdict(list)
    for label, input_laps in log:
        assert len(set(input_laps)) <= 1, f"node {label} mixed laps {input_laps}"  # glitch free
        seen[label].append(input_laps[0])
    for i in range(n):
        # each node saw the laps 0, 1, 2, ... in order, each exactly once, none skipped
        assert seen[i] == list(range(len(seen[i]))), (i, seen[i])
    assert seen[0] == list(range(laps + 1))


# ------------------------------------------------------------------------------------ D8
@pytest.mark.parametrize("order", list(itertools.permutations(["a", "b", "join"])))
def test_two_slow_sources_joined_by_a_sink_take_the_time_of_one(order):
    @node
    async def Slow(v):
        await sleep(0.3)
        return v

    @node
    async def Join(a, b):
        return a + b

    with vflow() as f:
        for name in order:
            if name == "join":
                f.join = Join(f.a, f.b)
            else:
                setattr(f, name, Slow({"a": 1, "b": 2}[name]))
    f.run_until_complete()
    assert f.join.get_data() == (3,)
    assert now(f) == pytest.approx(0.3)


def test_disconnected_chains_run_concurrently():
    @node
    async def Slow(v):
        await sleep(1.0)
        return v + 1

    with vflow() as f:
        f.a3 = Slow(Slow(Slow(0)))
        f.b3 = Slow(Slow(Slow(10)))
        f.c1 = Slow(100)
    f.run_until_complete()
    assert (f.a3.get_data(), f.b3.get_data(), f.c1.get_data()) == ((3,), (13,), (101,))
    assert now(f) == pytest.approx(3.0)


LOOP_WITH_SOURCE_LOG = [
    "slow", ("loop", 0), "sink", ("loop", 1), "slow", "sink", ("loop", 2), "slow", "sink", ("loop", 3),
]


@pytest.mark.parametrize("order", list(itertools.permutations(["loop", "src", "sink"])))
def test_a_cycle_and_a_slow_source_joined_by_a_sink_behave_the_same_in_every_order(order):
    log_: list = []

    @node
    async def Loop(x: int = 0):
        await sleep(1)
        log_.append(("loop", x))
        return x + 1

    @node
    async def Slow():
        await sleep(0.5)
        log_.append("slow")
        return 1

    @node
    async def Sink(a, b):
        log_.append("sink")
        return a + b

    with vflow() as f:
        for name in order:
            if name == "loop":
                f.loop = Loop(f.loop)
            elif name == "src":
                f.src = Slow()
            else:
                f.sink = Sink(f.src, f.loop)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.loop: (3,)})
    assert log_ == LOOP_WITH_SOURCE_LOG
    assert now(f) == pytest.approx(4.0)
    assert (f.sink.generation, f.sink.get_data()) == ((2,), (4,))


def test_an_independent_source_starts_whatever_the_definition_order_next_to_a_busy_cycle():
    for order in ("loop first", "source first"):
        ran = []

        @node
        async def Loop(x: int = 0):
            ran.append("loop")
            return x + 1

        @node
        async def Source():
            ran.append("source")
            return 1

        with vflow() as f:
            if order == "loop first":
                f.loop = Loop(f.loop)
                f.src = Source()
            else:
                f.src = Source()
                f.loop = Loop(f.loop)
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(stop_at_node_generation={f.loop: (3,)})
        assert "source" in ran, order
        assert f.src.generation == (0,), order


# ------------------------------------------------------------------------------------ D5
def test_rerun_a_cycle_continues_from_its_state():
    log_: list[str] = []

    @node
    async def Inc(x: int = 0):
        log_.append(f"Inc({x})")
        return x + 1

    @node
    async def Dbl(x: int):
        log_.append(f"Dbl({x})")
        return 2 * x

    with vflow() as f:
        f.inc = Inc(f.dbl)
        f.dbl = Dbl(f.inc)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(2,))
    assert f.inc.generation == (2,) and f.inc.get_data() == (7,)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(4,))
    assert log_ == ["Inc(0)", "Dbl(1)", "Inc(2)", "Dbl(3)", "Inc(6)", "Dbl(7)", "Inc(14)", "Dbl(15)", "Inc(30)"]
    assert (f.inc.generation, f.inc.get_data()) == ((4,), (31,))
    assert (f.dbl.generation, f.dbl.get_data()) == ((3,), (30,))
    # the same limit again: Dbl catches up to (4,) and hits the limit; Inc does not run again
    log_.clear()
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(4,))
    assert log_ == ["Dbl(31)"]
    assert (f.inc.generation, f.dbl.generation, f.dbl.get_data()) == ((4,), (4,), (62,))


def test_rerun_of_an_acyclic_flow_evaluates_each_node_once_more():
    counts = collections.Counter()

    @node
    async def Src():
        counts["src"] += 1
        return counts["src"]

    @node
    async def Square(x):
        counts["square"] += 1
        return x * x

    with vflow() as f:
        f.sq = Square(f.src)
        f.src = Src()
    for run in range(1, 4):
        f.run_until_complete()
        assert counts == {"src": run, "square": run}
        assert (f.sq.generation, f.sq.get_data()) == ((run - 1,), (run * run,))


def _stream_pair(log_):
    @node
    async def Gen():
        try:
            for i in range(3):
                log_.append(f"y{i}")
                yield i
        finally:
            log_.append("finally")

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]):
        out = []
        async for x in xs:
            out.append(x)
        log_.append(f"read {out}")
        return out

    with vflow() as f:
        f.p = Gen()
        f.r = Read(f.p)
    return f


def test_a_stream_stopped_mid_lap_keeps_its_chunks_and_restarts_as_a_new_lap():
    log_: list[str] = []
    f = _stream_pair(log_)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.p: (0, 1)})
    assert f.p.generation == (0, 1) and f.p.get_data(1) == (1,)
    assert "finally" in log_
    log_.clear()
    f.run_until_complete()
    assert log_[0] == "y0" and log_.count("y0") == 1  # the generator started afresh
    assert (f.p.generation, f.p.get_data()) == ((1,), (3,))  # a new lap (k+1, ...), never redone


def test_the_consumer_of_a_restarted_stream_reads_the_new_lap_once():
    log_: list[str] = []
    f = _stream_pair(log_)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.p: (0, 1)})
    log_.clear()
    f.run_until_complete()
    assert [entry for entry in log_ if entry.startswith("read")] == ["read [0, 1, 2]"]
    assert f.r.get_data() == ([0, 1, 2],)


# ------------------------------------------------------------------------------------ D9
N = 100_000


@node
async def Inc1(x: int):
    return x + 1


def test_a_100k_chain_defined_sink_first_runs_without_recursion():
    with vflow() as f:
        f.last = Inc1(f.n1)
        for i in range(1, N - 1):
            setattr(f, f"n{i}", Inc1(getattr(f, f"n{i + 1}")))
        setattr(f, f"n{N - 1}", Inc1(0))
    f.run_until_complete()
    assert f.last.get_data() == (N,)
    assert f.last.generation == (0,)


def _source_first_chain(n):
    with vflow() as f:
        previous = Inc1(0)
        for _ in range(n - 1):
            previous = Inc1(previous)
        f.last = previous
    f.run_until_complete()
    assert f.last.get_data() == (n,)


def test_a_100k_chain_defined_source_first_runs_without_recursion():
    _source_first_chain(N)


# ------------------------------------------------------------------------------------ D9: work counts
# Timing is not asserted anywhere; instead the number of staleness checks (the resolver's unit of
# work: one per edge looked at) is counted. D9: O(degree) per evaluation, so O(N) for a flow of N
# single-input nodes evaluated a bounded number of times.
@pytest.fixture
def staleness_checks(monkeypatch):
    from flowno_core._graph.runtime.records import Connection

    count = [0]
    original = Connection.is_stale

    def counting(self):
        count[0] += 1
        return original(self)

    monkeypatch.setattr(Connection, "is_stale", counting)
    return count


@node
async def Start1(x: int = 0):
    return x + 1


def _ring(n):
    with vflow() as f:
        f.n0 = Start1(getattr(f, f"n{n - 1}"))
        for i in range(1, n):
            setattr(f, f"n{i}", Inc1(getattr(f, f"n{i - 1}")))
    return f


RING = 600


def test_chains_cost_a_bounded_number_of_staleness_checks_per_node(staleness_checks):
    _source_first_chain(RING)
    assert staleness_checks[0] <= 20 * RING
    staleness_checks[0] = 0
    with vflow() as f:
        f.last = Inc1(f.n1)
        for i in range(1, RING - 1):
            setattr(f, f"n{i}", Inc1(getattr(f, f"n{i + 1}")))
        setattr(f, f"n{RING - 1}", Inc1(0))
    f.run_until_complete()
    assert f.last.get_data() == (RING,)
    assert staleness_checks[0] <= 20 * RING


def test_each_lap_of_a_big_ring_costs_a_bounded_number_of_checks_per_node(staleness_checks):
    f = _ring(RING)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.n0: (0,)})
    start_only = staleness_checks[0]
    staleness_checks[0] = 0
    g = _ring(RING)
    with pytest.raises(TerminateLimitReached):
        g.run_until_complete(stop_at_node_generation={g.n0: (3,)})
    assert g.n0.get_data() == (3 * RING + 1,)
    assert staleness_checks[0] - start_only <= 3 * 20 * RING  # three more laps


def test_starting_a_big_ring_costs_a_bounded_number_of_checks_per_node(staleness_checks):
    f = _ring(RING)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.n0: (0,)})
    assert f.n0.get_data() == (1,)
    assert staleness_checks[0] <= 20 * RING
    staleness_checks[0] = 0
    with pytest.raises(TerminateLimitReached):  # and again when the flow is run again (D5)
        f.run_until_complete(stop_at_node_generation={f.n0: (1,)})
    assert staleness_checks[0] <= 2 * 20 * RING


def test_rerun_after_a_stop_that_cut_a_join_keeps_its_inputs_in_step_in_every_order():
    for join_first in (False, True):
        seen = []

        @node
        async def Tick(x: int = -1):
            return x + 1

        @node
        async def Pass(x):
            return x

        @node
        async def Join(a, b):
            seen.append((a, b))
            await sleep(0.3)
            return a

        with vflow() as f:
            if join_first:
                f.j = Join(f.tick, f.p)
                f.p = Pass(f.tick)
                f.tick = Tick(f.tick)
            else:
                f.tick = Tick(f.tick)
                f.p = Pass(f.tick)
                f.j = Join(f.tick, f.p)
        for limit in (3, 5):
            with pytest.raises(TerminateLimitReached):
                f.run_until_complete(stop_at_node_generation={f.tick: (limit,)})
        assert seen[:3] == [(0, 0), (1, 1), (2, 2)], join_first
        assert all(a == b for a, b in seen), (join_first, seen)
