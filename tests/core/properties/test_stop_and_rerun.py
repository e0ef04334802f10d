"""Stopping at a generation limit and running again continues where the first run stopped (SPEC §0
D5, §0.2 "D5 with D13 (settled)", §2.8, §2.11, §3).

The property, over random flows F (``stream_flow_specs``: chains, diamonds, self-loops and rings
started by defaults, random graphs; streaming producers, stream readers, pass-through streams,
level-0 consumers of streams), limits 0 <= A < B <= 4 and L(k) = ``(k,)`` or ``{n_i: (k,)}``:

* S: a fresh F run to L(B). Its log, unfinished evaluations, state (every node's generation,
  get_data(0), get_data(1)) and outcome are the reference. S must end by the limit or normally
  (other endings are test_every_run_ends_by_its_limit_or_normally_with_no_lap_cut's business).
* R: another fresh F run to L(A).
  * Not stopped by the limit: R is S (same log, unfinished evaluations, state, outcome).
  * Stopped, no node mid-lap (generation ``(k, j)``): R run again to L(B) has, over both runs,
    S's log (each node's evaluations with their inputs and outputs, and their order), S's
    unfinished evaluations, S's state, and ends as S ends.
  * Stopped with a lap cut: SPEC settles that the generator restarts as a new lap, so only: the
    second run ends by the limit or normally (no deadlock, no error, no runaway), and a normal end
    leaves no node mid-lap; no node's generation goes back; no node with inputs evaluates the same
    inputs more often over both runs than the straight run does (at most once unless S repeats
    them), not counting the first evaluation in the second run of each node that was mid-lap (its
    restarted lap).

Nodes are ``flowno_core.testing.flows`` nodes: deterministic functions of their inputs and their own
evaluation count, with no sleeps, each appending ``(name, inputs as seen, output)`` to one log when
an evaluation completes (a stream input is seen as the list of chunks read; a streaming node's output
is the list of chunks it yielded).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from flowno_core import FlowHDL, Stream, TerminateLimitReached, node
from flowno_core.testing.flows import EvaluationLog, FlowSpec, NodeSpec, has_cycle
from flowno_core.testing.strategies import stream_flow_specs

GRACE = 0.01
MAX_EVALUATIONS = 200  # far above what B <= 4 needs; a runaway flow fails instead of hanging

PROPERTY_SETTINGS = settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@st.composite
def cases(draw: Any, one_node: bool = False) -> tuple[FlowSpec, int, int, int | None]:
    """A flow, limits 0 <= A < B <= 4 and, for the dict form, the index of the limited node.

    An acyclic flow never reaches a generation above (0,), so only A = 0 stops it early.
    """
    spec = draw(stream_flow_specs())
    a = draw(st.integers(0, 3)) if has_cycle(spec) else 0
    b = draw(st.integers(a + 1, 4))
    return spec, a, b, draw(st.integers(0, len(spec.nodes) - 1)) if one_node else None


# -- helpers --------------------------------------------------------------------------------------
def fresh(spec: FlowSpec) -> tuple[FlowHDL, EvaluationLog]:
    """A newly built flow of ``spec`` with its evaluation log and a short deadlock grace."""
    log = EvaluationLog(max_evaluations=MAX_EVALUATIONS)
    f = spec.build(log=log)
    f._flow.deadlock_grace = GRACE
    return f, log


def limit(f: FlowHDL, k: int, node_index: int | None) -> Any:
    """The global limit ``(k,)``, or ``{node: (k,)}`` for node ``n<node_index>`` of ``f``."""
    if node_index is None:
        return (k,)
    return {getattr(f, f"n{node_index}"): (k,)}


def run_to(f: FlowHDL, stop_at: Any) -> str:
    """Run ``f`` once; "limit", "done", or the error's type and message."""
    try:
        f.run_until_complete(stop_at_node_generation=stop_at)
    except TerminateLimitReached:
        return "limit"
    except Exception as error:  # noqa: BLE001 - any other ending is compared as data
        return f"{type(error).__name__}: {error}"
    return "done"


def state(spec: FlowSpec, f: FlowHDL) -> list[tuple[str, Any, Any, Any]]:
    """Every node's public state: name, generation, get_data(0), get_data(1)."""
    return [(f"n{i}", n.generation, n.get_data(0), n.get_data(1)) for i, n in enumerate(spec.finalized_nodes(f))]


def mid_lap(spec: FlowSpec, f: FlowHDL) -> list[str]:
    """The nodes stopped mid-lap: their generation is a chunk ``(k, j)``."""
    return [f"n{i}" for i, n in enumerate(spec.finalized_nodes(f)) if n.generation is not None and len(n.generation) == 2]


def order_key(generation: tuple[int, ...] | None) -> tuple[float, ...]:
    """A sort key for SPEC §2.2's order: None first, a prefix above its extensions."""
    return (-1,) if generation is None else (*generation, math.inf)


def per_node(entries: list[Any]) -> dict[str, list[Any]]:
    """The log split by node, each node's evaluations in order."""
    split: dict[str, list[Any]] = {}
    for entry in entries:
        split.setdefault(entry[0], []).append(entry[1:])
    return split


def first_difference(expected: list[Any], got: list[Any]) -> str:
    """Where two logs part: the index and both entries there (None past an end)."""
    for index in range(max(len(expected), len(got))):
        want = expected[index] if index < len(expected) else None
        have = got[index] if index < len(got) else None
        if want != have:
            return f"at evaluation {index}: straight run {want}, stop-and-rerun {have}"
    return "none"


def repeated_evaluations(first: list[Any], second: list[Any], restarted: list[str], straight: list[Any]) -> list[Any]:
    """Evaluations of the second run that redo an earlier one: the same node with the same inputs.

    Left out: sources (no inputs), the first evaluation in the second run of each node whose lap
    was cut (it restarts), and repeats the straight run makes as well.
    """
    key = lambda entry: (entry[0], repr(entry[1]))  # noqa: E731
    allowed = Counter(key(entry) for entry in straight)
    seen = Counter(key(entry) for entry in first if entry[1])
    restarting = set(restarted)
    repeats = []
    for entry in second:
        if entry[0] in restarting:
            restarting.discard(entry[0])
            continue
        if entry[1]:
            seen[key(entry)] += 1
            if seen[key(entry)] > max(1, allowed[key(entry)]):
                repeats.append(entry)
    return repeats


def check_stop_and_rerun(spec: FlowSpec, a: int, b: int, node_index: int | None = None) -> None:
    """The property (see the module docstring); ``node_index`` selects the dict form of the limits."""
    straight, straight_log = fresh(spec)
    straight_outcome = run_to(straight, limit(straight, b, node_index))
    # flows that never reach the limit (a dict limit on a node a cycle elsewhere never pulls), or
    # that fail without any stop, are test_every_run_ends_by_its_limit_or_normally's business
    assume(straight_outcome in ("limit", "done"))

    f, log = fresh(spec)
    first_outcome = run_to(f, limit(f, a, node_index))
    if first_outcome != "limit":  # the limit A never stopped it, so B would not have either
        event("first run not stopped by the limit")
        assert log.entries == straight_log.entries, first_difference(straight_log.entries, log.entries)
        assert (first_outcome, log.cut, state(spec, f)) == (straight_outcome, straight_log.cut, state(spec, straight))
        return
    first_entries = list(log.entries)
    first_generations = [n.generation for n in spec.finalized_nodes(f)]
    cut = mid_lap(spec, f)
    second_outcome = run_to(f, limit(f, b, node_index))

    if not cut:
        event("exact: " + ("with streams" if spec.has_streams() else "no streams"))
        assert per_node(log.entries) == per_node(straight_log.entries), first_difference(straight_log.entries, log.entries)
        if not spec.has_streams():
            # Without streams every evaluation completes in one step, so the stop leaves none under
            # way and the order is the same too. With streams, a stop lets the evaluations under way
            # finish their step before the ones not begun yet (deferred to the next run): each node
            # sees the same inputs in the same order, but independent nodes may interleave otherwise.
            assert log.entries == straight_log.entries, first_difference(straight_log.entries, log.entries)
        assert state(spec, f) == state(spec, straight)
        assert log.cut == straight_log.cut, "evaluations left unfinished by the last stop"
        assert second_outcome == straight_outcome
    else:
        event("weak: a lap was cut")
        # (A normal end may leave a streaming ring at rest mid-lap: the restarted lap is numbered
        # k+1, so a feedback edge's offset no longer lines its two ends up; nothing is lost or
        # redone, and the next run starts those laps afresh.)
        assert second_outcome in ("limit", "done"), f"cut {cut}, then {second_outcome}"
        for index, (before, after) in enumerate(zip(first_generations, [n.generation for n in spec.finalized_nodes(f)])):
            assert order_key(after) >= order_key(before), f"n{index} went back from {before} to {after}"
        second = log.entries[len(first_entries) :]
        assert repeated_evaluations(first_entries, second, cut, straight_log.entries) == []


# -- the properties -------------------------------------------------------------------------------
@PROPERTY_SETTINGS
@given(cases())
def test_stop_at_a_then_run_to_b_equals_running_straight_to_b(case):
    check_stop_and_rerun(*case)


@PROPERTY_SETTINGS
@given(cases(one_node=True))
def test_stop_and_rerun_with_a_limit_on_one_node(case):
    check_stop_and_rerun(*case)


@PROPERTY_SETTINGS
@given(stream_flow_specs(), st.integers(0, 4))
def test_every_run_ends_by_its_limit_or_normally_with_no_lap_cut(spec, k):
    """With a global limit every cycle reaches it and everything else finishes (no deadlock, no
    runaway); a normal end means nothing could progress, and a generator parked mid-lap always
    can (D7, D2), so it leaves no lap cut."""
    f, _ = fresh(spec)
    outcome = run_to(f, (k,))
    assert outcome in ("limit", "done")
    if outcome == "done":
        assert mid_lap(spec, f) == []


def test_most_stream_examples_take_the_exact_branch():
    """Guard for the generator: among stream flows whose first run the limit stopped, most did not
    cut a lap (so the exact comparison covers streams), and many had a stream finish a lap before
    the stop."""
    tally: Counter[str] = Counter()

    @PROPERTY_SETTINGS
    @given(cases())
    def first_runs(case):
        spec, a, _, _ = case
        f, log = fresh(spec)
        if spec.has_streams() and run_to(f, (a,)) == "limit":
            streamed = any(isinstance(entry[2], list) for entry in log.entries)
            tally["cut" if mid_lap(spec, f) else ("exact, streams ran" if streamed else "exact")] += 1

    first_runs()
    stopped = sum(tally.values())
    assert stopped >= 200, tally
    assert tally["exact"] + tally["exact, streams ran"] >= 0.6 * stopped, tally
    assert tally["exact, streams ran"] >= 0.2 * stopped, tally


# -- the named symptoms, as plain examples ------------------------------------------------------------
def straight_and_split(build: Any, a: int, b: int) -> tuple[tuple[str, list[Any]], tuple[list[str], list[Any]]]:
    """Run one ``build()`` flow straight to ``(b,)`` and another to ``(a,)`` then ``(b,)``; outcomes and logs."""
    f, log = build()
    straight = (run_to(f, (b,)), list(log))
    g, log = build()
    outcomes = [run_to(g, (a,)), run_to(g, (b,))]
    return straight, (outcomes, list(log))


def source_and_reader() -> tuple[FlowHDL, list[Any]]:
    """A source and its reader: Src -> Read."""
    log: list[Any] = []

    @node
    async def Src() -> int:
        log.append("Src")
        return log.count("Src")

    @node
    async def Read(x: int) -> int:
        log.append(("Read", x))
        return x

    with FlowHDL() as f:
        f.read = Read(f.src)
        f.src = Src()
    f._flow.deadlock_grace = GRACE
    return f, log


def test_a_source_is_not_evaluated_again_when_its_reader_has_not_read_its_value():
    (outcome, straight), (outcomes, split) = straight_and_split(source_and_reader, 0, 1)
    assert (outcome, straight) == ("done", ["Src", ("Read", 1)])
    # stopped when Src reached (0,), before Read read it: the rerun only has Read left to do
    assert (outcomes, split) == (["limit", "done"], straight)


def source_into_self_loop() -> tuple[FlowHDL, list[Any]]:
    """``Inc(x=0, s=0)`` reading itself and a source: ``f.i = Inc(f.i, f.s)``."""
    log: list[Any] = []

    @node
    async def Src() -> int:
        log.append("Src")
        return log.count("Src")

    @node
    async def Inc(x: int = 0, s: int = 0) -> int:
        log.append(("Inc", x, s))
        return x + s

    with FlowHDL() as f:
        f.i = Inc(f.i, f.s)
        f.s = Src()
    f._flow.deadlock_grace = GRACE
    return f, log


@pytest.mark.parametrize("a", [0, 1, 2, 3])
def test_a_source_feeding_a_self_loop_continues_where_it_stopped(a):
    (outcome, straight), (outcomes, split) = straight_and_split(source_into_self_loop, a, 4)
    assert outcome == "limit"
    assert straight[:4] == ["Src", ("Inc", 0, 1), "Src", ("Inc", 1, 2)]
    assert (outcomes, split) == (["limit", "limit"], straight)


def streaming_ring() -> FlowSpec:
    """S(x=0) streams one chunk; P passes S's stream through and feeds S's plain input."""
    return FlowSpec((NodeSpec((1,), (0,), chunks=1), NodeSpec((0,), stream_in=(True,), chunks=1)))


def self_loop_fed_by_a_source() -> FlowSpec:
    """``Inc(x=0, s=0)`` reading itself and a source."""
    return FlowSpec((NodeSpec((0, 1), (0, 0)), NodeSpec()))


@pytest.mark.parametrize("make", [self_loop_fed_by_a_source, streaming_ring])
def test_a_cycle_does_not_evaluate_the_same_input_twice_across_a_stop(make):
    spec = make()
    f, log = fresh(spec)
    assert run_to(f, {f.n0: (0,)}) == "limit"
    assert run_to(f, {f.n0: (2,)}) == "limit"
    inputs = [entry[1] for entry in log.entries if entry[0] == "n0"]
    assert len(inputs) == len(set(inputs)) == 3, inputs  # (0,), (1,), (2,), each on a new input
    assert f.n0.generation == (2,)


def streaming_cycle() -> tuple[FlowHDL, list[Any]]:
    """SPEC §3.10's cycle: ``B(x)`` yields three chunks, ``A(xs=None)`` reads them all and feeds B."""
    log: list[Any] = []

    @node
    async def B(x: int):
        for i in range(3):
            log.append(("B", x, i))
            yield x + i

    @node(stream_in=["xs"])
    async def A(xs: Stream[int] | None = None) -> int:
        got = [] if xs is None else [v async for v in xs]
        log.append(("A", got))
        return sum(got)

    with FlowHDL() as f:
        f.a = A(f.b)
        f.b = B(f.a)
    f._flow.deadlock_grace = GRACE
    return f, log


def test_a_streaming_cycle_stopped_mid_lap_continues_to_the_new_limit():
    f, log = streaming_cycle()
    assert run_to(f, {f.b: (0, 1)}) == "limit"
    assert (f.a.generation, f.b.generation) == ((0,), (0, 1))
    log.clear()
    assert run_to(f, {f.a: (3,)}) == "limit"  # a cycle never runs out of work: it must reach A (3,)
    assert f.a.generation == (3,)
    assert log[:4] == [("B", 0, 0), ("B", 0, 1), ("B", 0, 2), ("A", [0, 1, 2])]  # B's lap restarts afresh
    reads = [entry for entry in log if entry[0] == "A"]
    assert len(reads) == 3 and len(set(map(repr, reads))) == 3, reads  # A (1,), (2,), (3,), each on new chunks
