"""Cycles: bootstrapping by defaults and stitch (SPEC §2.8), flowno's user-guide cycle, swappers,
toggles, multi-input cycles, self-loops, stateful counters, generation limits (§2.11) and
deterministic cycle breaking (D1).

Expected logs of the scenarios that flowno 0.1.19 also runs were recorded from flowno 0.1.19
(same scenario, same result)."""

from __future__ import annotations

import itertools
import json

import pytest

from flowno_core import FlowInstrument, Stream, TerminateLimitReached, node

from .helpers import run_python, vflow


def run_to_limit(f, limit):
    with pytest.raises(TerminateLimitReached) as info:
        f.run_until_complete(stop_at_node_generation=limit)
    assert info.value.args == ()  # it carries no payload


# ------------------------------------------------------------------------------------ §2.8
def _ring(log):
    @node
    async def A(x: int = 0):
        log.append(f"A({x})")
        return x + 1

    @node
    async def B(x: int):
        log.append(f"B({x})")
        return x * 2

    with vflow() as g:
        g.b = B(g.a)  # defined first
        g.a = A(g.b)
    return g


def test_worked_example_of_the_stitch_section():
    log = []
    g = _ring(log)
    run_to_limit(g, {g.a: (2,)})
    assert log == ["A(0)", "B(1)", "A(2)", "B(3)", "A(6)"]
    assert (g.a.generation, g.a.get_data()) == ((2,), (7,))
    assert (g.b.generation, g.b.get_data()) == ((1,), (6,))
    # A's feedback port was defaulted once: its stitch is permanently 1; B's port never defaulted
    assert g.a._input_ports[0].stitch_level_0 == 1
    assert g.b._input_ports[0].stitch_level_0 == 0


@pytest.mark.parametrize(
    "limit, log, a, b",
    [
        ("(1,)", ["A(0)", "B(1)", "A(2)"], ((1,), (3,)), ((0,), (2,))),
        ("{B: (1,)}", ["A(0)", "B(1)", "A(2)", "B(3)"], ((1,), (3,)), ((1,), (6,))),
        ("{A: (2,)}", ["A(0)", "B(1)", "A(2)", "B(3)", "A(6)"], ((2,), (7,)), ((1,), (6,))),
        ("(0,)", ["A(0)"], ((0,), (1,)), (None, None)),
        ("None", ["A(0)"], ((0,), (1,)), (None, None)),
        ("(0, 0)", ["A(0)"], ((0,), (1,)), (None, None)),
        ("{A: (0, 5)}", ["A(0)"], ((0,), (1,)), (None, None)),
    ],
)
def test_generation_limits_on_the_ring(limit, log, a, b):
    seen = []
    g = _ring(seen)
    run_to_limit(g, eval(limit, {"A": g.a, "B": g.b}))
    assert seen == log
    assert (g.a.generation, g.a.get_data()) == a
    assert (g.b.generation, g.b.get_data()) == b


def test_a_draft_node_key_applies_to_its_finalized_node():
    log = []

    @node
    async def A(x: int = 0):
        log.append(x)
        return x + 1

    with vflow() as g:
        draft = A(g.a)
        g.a = draft
    run_to_limit(g, {draft: (2,)})
    assert log == [0, 1, 2]
    assert g.a.generation == (2,)


def test_the_limit_hook_fires_with_node_and_limit():
    events = []

    class Limits(FlowInstrument):
        def on_node_generation_limit(self, flow, node, limit):
            events.append((node, limit))

    g = _ring([])
    with Limits():
        run_to_limit(g, {g.b: (1,)})
    assert events == [(g.b, (1,))]


def test_user_guide_cycle_in_both_definition_orders():
    for first in ("inc", "dbl"):
        log = []

        @node
        async def Increment(value: int = 0):
            log.append(f"Inc({value})")
            return value + 1

        @node
        async def Double(value: int):
            log.append(f"Dbl({value})")
            return value * 2

        with vflow() as f:
            if first == "inc":
                f.inc = Increment(f.dbl)
                f.dbl = Double(f.inc)
            else:
                f.dbl = Double(f.inc)
                f.inc = Increment(f.dbl)
        run_to_limit(f, (3,))
        assert log == ["Inc(0)", "Dbl(1)", "Inc(2)", "Dbl(3)", "Inc(6)", "Dbl(7)", "Inc(14)"], first
        assert (f.inc.generation, f.inc.get_data()) == ((3,), (15,))
        assert (f.dbl.generation, f.dbl.get_data()) == ((2,), (14,))


# ------------------------------------------------------------------------------------ shapes
def test_multi_output_swapper_self_loop():
    log = []

    @node(multiple_outputs=True)
    async def Swap(a: int = 1, b: int = 2):
        log.append((a, b))
        return b, a

    with vflow() as f:
        f.s = Swap(f.s.output(0), f.s.output(1))
    run_to_limit(f, (3,))
    assert log == [(1, 2), (2, 1), (1, 2), (2, 1)]
    assert (f.s.generation, f.s.get_data()) == ((3,), (1, 2))


def test_two_node_swapper_starts_with_the_first_defined_node():
    for order in ("lr", "rl"):
        log = []

        @node
        async def Left(x: str = "L0"):
            log.append(f"Left({x})")
            return "from-left"

        @node
        async def Right(x: str = "R0"):
            log.append(f"Right({x})")
            return "from-right"

        with vflow() as f:
            if order == "lr":
                f.left = Left(f.right)
                f.right = Right(f.left)
            else:
                f.right = Right(f.left)
                f.left = Left(f.right)
        run_to_limit(f, (2,))
        if order == "lr":
            assert log == ["Left(L0)", "Right(from-left)", "Left(from-right)", "Right(from-left)", "Left(from-right)"]
        else:
            assert log == ["Right(R0)", "Left(from-right)", "Right(from-left)", "Left(from-right)", "Right(from-left)"]


def test_toggle_self_loop():
    log = []

    @node
    async def Not(x: bool = False):
        log.append(x)
        return not x

    with vflow() as f:
        f.t = Not(f.t)
    run_to_limit(f, (3,))
    assert log == [False, True, False, True]
    assert f.t.get_data() == (False,)


def test_stateful_toggle_self_loop():
    log = []

    @node
    class Toggle:
        state = False

        async def call(self, x: int = 0):
            self.state = not self.state
            log.append((x, self.state))
            return x + 1

    with vflow() as f:
        f.t = Toggle(f.t)
    run_to_limit(f, (2,))
    assert log == [(0, True), (1, False), (2, True)]
    assert (f.t.get_data(), f.t.state) == ((3,), True)


def test_multi_input_cycle_pulls_its_source_every_lap():
    log = []

    @node
    async def Src():
        log.append("Src")
        return 10

    @node
    async def Add(a: int, b: int = 0):
        log.append(f"Add({a},{b})")
        return a + b

    with vflow() as f:
        f.acc = Add(f.src, f.acc)
        f.src = Src()
    run_to_limit(f, {f.acc: (3,)})
    assert log == ["Src", "Add(10,0)", "Src", "Add(10,10)", "Src", "Add(10,20)", "Src", "Add(10,30)"]
    assert (f.acc.get_data(), f.src.generation) == ((40,), (3,))


def test_fibonacci_multi_output_self_loop():
    log = []

    @node(multiple_outputs=True)
    async def Fib(a: int = 0, b: int = 1):
        log.append((a, b))
        return b, a + b

    with vflow() as f:
        f.fib = Fib(f.fib.output(0), f.fib.output(1))
    run_to_limit(f, (5,))
    assert log == [(0, 1), (1, 1), (1, 2), (2, 3), (3, 5), (5, 8)]
    assert f.fib.get_data() == (8, 13)


def test_two_cycles_sharing_a_node_and_same_number_of_evaluations():
    counts = {}

    @node
    async def Hub(x: int = 0, y: int = 0):
        counts["hub"] = counts.get("hub", 0) + 1
        return x + y + 1

    @node
    async def Spoke(name: str, h: int):
        counts[name] = counts.get(name, 0) + 1
        return h

    with vflow() as f:
        f.hub = Hub(f.left, f.right)
        f.left = Spoke("left", f.hub)
        f.right = Spoke("right", f.hub)
    run_to_limit(f, {f.hub: (4,)})
    assert counts == {"hub": 5, "left": 4, "right": 4}
    # hub: 1, then 1+1+1=3, 7, 15, 31
    assert f.hub.get_data() == (31,)


def test_stateful_counter_feeding_a_consumer():
    @node
    class Counter:
        count = 0

        async def call(self, tick: int = 0):
            self.count += 1
            return self.count

    seen = []

    @node
    async def Watch(n: int):
        seen.append(n)
        return n

    with vflow() as f:
        f.counter = Counter(f.counter)
        f.watch = Watch(f.counter)
    run_to_limit(f, {f.watch: (3,)})
    assert seen == [1, 2, 3, 4]
    # the counter may already be computing its next lap (it cannot publish it before the watcher
    # has read the previous value); the stop discards that unpublished result
    assert f.counter.count in (4, 5)
    assert (f.counter.generation, f.counter.get_data()) == ((3,), (4,))


def test_long_self_loop():
    @node
    async def Inc(x: int = 0):
        return x + 1

    with vflow() as f:
        f.n = Inc(f.n)
    run_to_limit(f, (2000,))
    assert f.n.get_data() == (2001,)


# ------------------------------------------------------------------------------------ limits
def test_global_zero_limit_stops_an_acyclic_flow_after_the_first_node():
    ran = []

    @node
    async def Src():
        ran.append("src")
        return 1

    @node
    async def Sink(x):
        ran.append("sink")
        return x

    with vflow() as f:
        f.sink = Sink(f.src)
        f.src = Src()
    run_to_limit(f, (0,))
    assert ran == ["src"]
    assert f.sink.generation is None


def test_an_acyclic_flow_that_ends_before_the_limit_returns_normally():
    @node
    async def Src():
        return 1

    with vflow() as f:
        f.src = Src()
    report = f.run_until_complete(stop_at_node_generation=(5,))  # no TerminateLimitReached
    assert report.outcome == "completed"
    assert f.src.generation == (0,)


def _streamer(log, chunks=5):
    @node
    async def Gen():
        try:
            for i in range(chunks):
                log.append(f"y{i}")
                yield i
        finally:
            log.append("finally")

    @node(stream_in=["xs"])
    async def Read(xs: Stream[int]):
        out = []
        async for x in xs:
            log.append(f"r{x}")
            out.append(x)
        return out

    with vflow() as f:
        f.p = Gen()
        f.r = Read(f.p)
    return f


def test_chunk_limit_stops_a_stream_after_that_chunk():
    log = []
    f = _streamer(log)
    run_to_limit(f, {f.p: (0, 1)})
    assert log[:3] == ["y0", "r0", "y1"]
    assert "y2" not in log
    assert "finally" in log  # D13: the generator was closed
    assert f.p.generation == (0, 1)
    assert f.p.get_data() is None and f.p.get_data(1) == (1,)


def test_global_chunk_limit_stops_at_the_first_chunk_reaching_it():
    log = []
    f = _streamer(log)
    run_to_limit(f, (0, 1))
    assert "y2" not in log and f.p.generation == (0, 1)


def test_a_final_value_satisfies_a_chunk_limit():
    log = []
    f = _streamer(log, chunks=3)
    run_to_limit(f, {f.p: (0, 7)})
    assert log == ["y0", "r0", "y1", "r1", "y2", "r2", "finally"]
    assert f.p.generation == (0,)
    assert f.p.get_data() == (3,)


def test_nothing_runs_after_a_limit_is_reached():
    log = []

    @node
    async def Gen():
        for i in range(5):
            log.append(f"y{i}")
            yield i

    @node(stream_in=["xs"])
    async def UpTo1(xs):
        async for x in xs:
            log.append(f"r{x}")
            if x == 1:
                return x

    with vflow() as f:
        f.p = Gen()
        f.c = UpTo1(f.p)
    run_to_limit(f, {f.p: (0, 1)})
    assert log == ["y0", "r0", "y1"]
    assert f.c.generation is None


def test_stopping_on_a_consumer_limit_after_a_full_stream():
    log = []
    f = _streamer(log, chunks=2)
    run_to_limit(f, {f.r: (0,)})
    assert f.r.get_data() == ([0, 1],)
    assert f.p.generation == (0,)


def test_bad_limit_values_are_rejected():
    log = []
    g = _ring(log)
    with pytest.raises(TypeError):
        g.run_until_complete(stop_at_node_generation=3)
    assert log == []


# ------------------------------------------------------------------------------------ D1
RING_SCRIPT = r"""
import itertools, json
from flowno_core import node, FlowHDL, VirtualClock, TerminateLimitReached

log = []

def make(name):
    async def body(x: int = 0):
        log.append(name)
        return x + 1
    body.__name__ = name
    return node(body)

R = {name: make(name) for name in "ABC"}
results = {}
junk = []
for order in itertools.permutations("ABC"):
    for _ in range(3):
        junk.append([object() for _ in range(17)])  # vary memory layout / ids between flows
        log.clear()
        with FlowHDL(clock=VirtualClock()) as f:
            for name in order:
                # the ring A <- C, B <- A, C <- B, whatever the definition order
                source = {"A": "c", "B": "a", "C": "b"}[name]
                setattr(f, name.lower(), R[name](getattr(f, source)))
        try:
            f.run_until_complete(stop_at_node_generation=(1,))
        except TerminateLimitReached:
            pass
        results.setdefault("".join(order), set()).add("".join(log))
print(json.dumps({k: sorted(v) for k, v in results.items()}))
"""

RING_EXPECTED = {
    "".join(order): [{"A": "ABCA", "B": "BCAB", "C": "CABC"}[order[0]]]
    for order in itertools.permutations("ABC")
}


def test_ring_of_three_defaulted_nodes_starts_with_the_first_defined_node_in_process():
    namespace: dict = {}
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(RING_SCRIPT, namespace)
    assert json.loads(out.getvalue()) == RING_EXPECTED


@pytest.mark.parametrize("seed", ["0", "1", "12345"])
def test_ring_of_three_is_deterministic_across_processes(seed):
    result = run_python(RING_SCRIPT, env={"PYTHONHASHSEED": seed})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == RING_EXPECTED


MIXED_SCRIPT = r"""
import json
from flowno_core import node, FlowHDL, VirtualClock, TerminateLimitReached, sleep, Stream

log = []

@node
async def Src(k: int):
    log.append(f"src{k}")
    await sleep(0)
    return k

@node
async def Mix(a: int, b: int = 0):
    log.append(f"mix{a},{b}")
    return a + b

@node
async def Gen(x: int):
    for i in range(3):
        log.append(f"gen{x}.{i}")
        yield x + i

@node(stream_in=["xs"])
async def Read(xs: Stream[int], y: int = 0):
    out = 0
    async for v in xs:
        log.append(f"read{v}")
        out += v
    return out + y

junk = [object() for _ in range(__import__("random").randrange(1, 500))]  # vary ids between processes
with FlowHDL(clock=VirtualClock()) as f:
    f.a = Src(1)
    f.b = Src(2)
    f.m1 = Mix(f.a, f.m2)
    f.m2 = Mix(f.b, f.m1)
    f.g = Gen(f.m1)
    f.r = Read(f.g, f.r)
    f.d = Mix(f.r, f.m2)
try:
    f.run_until_complete(stop_at_node_generation={f.d: (3,)})
except TerminateLimitReached:
    pass
print(json.dumps(log))
"""


def test_same_graph_same_execution_order_in_every_process():
    outputs = set()
    for seed in ("0", "7", "4242"):
        result = run_python(MIXED_SCRIPT, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
    log = json.loads(outputs.pop())
    assert log[:4] == ["src1", "src2", "mix1,0", "mix2,1"]  # m1 (defined first) breaks the cycle (D1)
    assert log.count("mix2,1") == 1
