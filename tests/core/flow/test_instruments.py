"""FlowInstrument hooks (SPEC §1.10): each hook fires at its point, one active instrument (nesting
replaces the outer one), nothing is called when no instrument is active, and
on_defaulted_inputs_set fires on every evaluation."""

from __future__ import annotations

import collections
from contextlib import contextmanager

import pytest

from flowno_core import (
    FlowInstrument,
    NodeExecutionError,
    NodeTaskStatus,
    Stream,
    TerminateLimitReached,
    node,
    sleep,
)
from flowno_core.instrumentation import get_current_flow_instrument

from .helpers import vflow


class Recorder(FlowInstrument):
    """Records every hook call as (hook name, arguments without the flow)."""

    def __init__(self):
        super().__init__()
        self.events: list[tuple] = []

    def _add(self, *event):
        self.events.append(event)

    def names(self):
        return collections.Counter(event[0] for event in self.events)

    def of(self, name):
        return [event[1:] for event in self.events if event[0] == name]

    def on_flow_start(self, flow):
        self._add("on_flow_start", flow)

    def on_flow_end(self, flow):
        self._add("on_flow_end", flow)

    def on_node_registered(self, flow, node):
        self._add("on_node_registered", node)

    def on_node_visited(self, flow, node):
        self._add("on_node_visited", node)

    def on_resolution_queue_put(self, flow, node):
        self._add("on_resolution_queue_put", node)

    def on_resolution_queue_get(self, flow, node):
        self._add("on_resolution_queue_get", node)

    def on_solving_nodes(self, flow, head_node, solution_nodes):
        self._add("on_solving_nodes", head_node, list(solution_nodes))

    def on_node_resumed(self, flow, node, run_level):
        self._add("on_node_resumed", node, run_level)

    def on_node_pause(self, flow, node, run_level):
        self._add("on_node_pause", node, run_level)

    def on_node_stalled(self, flow, node, stalled_input):
        self._add("on_node_stalled", node, stalled_input)

    def on_node_emitted_data(self, flow, node, data, run_level):
        self._add("on_node_emitted_data", node, data, run_level)

    def on_node_generation_limit(self, flow, node, limit):
        self._add("on_node_generation_limit", node, limit)

    def on_node_error(self, flow, node, error):
        self._add("on_node_error", node, error)

    def on_node_status_change(self, flow, node, old_status, new_status):
        self._add("on_node_status_change", node, old_status, new_status)

    def on_stream_start(self, stream):
        self._add("on_stream_start", stream)

    def on_stream_next(self, stream, data):
        self._add("on_stream_next", stream, data)

    def on_stream_end(self, stream):
        self._add("on_stream_end", stream)

    def on_stream_error(self, stream, error):
        self._add("on_stream_error", stream, error)

    def on_defaulted_inputs_set(self, flow, node, defaulted_inputs):
        self._add("on_defaulted_inputs_set", node, list(defaulted_inputs))

    @contextmanager
    def node_lifecycle(self, flow, node, run_level):
        self._add("lifecycle enter", node, run_level)
        try:
            yield
        finally:
            self._add("lifecycle exit", node, run_level)


body_log: list = []


@node
async def Gen():
    yield 1
    yield 2


@node(stream_in=["xs"])
async def Read(xs: Stream[int]):
    out = []
    async for x in xs:
        out.append(x)
    body_log.append("Read body")
    return out


@node
async def Inc(x: int = 0):
    body_log.append("Inc body")
    return x + 1


@node
async def Bad():
    raise ValueError("bad")


def test_registration_fires_at_finalization_in_definition_order():
    with Recorder() as rec:
        with vflow() as f:
            f.r = Read(f.g)
            f.g = Gen()
    assert rec.of("on_node_registered") == [(f.r,), (f.g,)]


def test_flow_and_resolution_hooks_on_a_streaming_flow():
    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with Recorder() as rec:
        f.run_until_complete()
    names = rec.names()
    assert rec.of("on_flow_start") == [(f._flow,)] and rec.of("on_flow_end") == [(f._flow,)]
    assert rec.events[0][0] == "on_flow_start" and rec.events[-1][0] == "on_flow_end"
    assert names["on_resolution_queue_put"] >= names["on_resolution_queue_get"] >= 2
    assert {node for (node,) in rec.of("on_node_visited")} == {f.g, f.r}
    for head, solution in rec.of("on_solving_nodes"):
        assert head in (f.g, f.r) and set(solution) <= {f.g, f.r}
    assert rec.of("on_node_emitted_data") == [(f.g, (1,), 1), (f.g, (2,), 1), (f.g, (3,), 0), (f.r, ([1, 2],), 0)]
    # streams: start once, every chunk read, then the end
    assert len(rec.of("on_stream_start")) == 1
    assert [data for _, data in rec.of("on_stream_next")] == [1, 2]
    assert len(rec.of("on_stream_end")) == 1
    stream = rec.of("on_stream_start")[0][0]
    assert stream.input.node is f.r and stream.output.node is f.g
    # a generator pauses after a chunk (level 1) and is resumed for the next
    assert (f.g, 1) in rec.of("on_node_pause")
    assert (f.g, 1) in rec.of("on_node_resumed")
    # node_lifecycle: level 0 around each evaluation, level 1 around each step of the generator
    assert rec.of("lifecycle enter").count((f.r, 0)) == 1 and rec.of("lifecycle exit").count((f.r, 0)) == 1
    assert rec.of("lifecycle enter").count((f.g, 0)) == 1
    assert rec.of("lifecycle enter").count((f.g, 1)) == 3  # two chunks and the end of the generator
    assert names["lifecycle enter"] == names["lifecycle exit"]


def test_node_lifecycle_level_0_surrounds_the_node_body():
    body_log.clear()

    class Around(FlowInstrument):
        @contextmanager
        def node_lifecycle(self, flow, node, run_level):
            if node is f.i:
                body_log.append(f"enter {run_level}")
            yield
            if node is f.i:
                body_log.append(f"exit {run_level}")

    with vflow() as f:
        f.i = Inc(1)
    with Around():
        f.run_until_complete()
    assert body_log == ["enter 0", "Inc body", "exit 0"]


def test_on_node_stalled_reports_the_stalled_input():
    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with Recorder() as rec:
        f.run_until_complete()
    stalls = rec.of("on_node_stalled")
    assert stalls
    for _, stalled_input in stalls:
        assert stalled_input.node is f.r and stalled_input.port_index == 0


def test_on_node_stalled_names_the_stalled_consumer_like_flowno():
    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with Recorder() as rec:
        f.run_until_complete()
    assert rec.of("on_node_stalled")
    assert all(node is f.r for node, _ in rec.of("on_node_stalled"))


def test_status_changes_of_a_plain_node():
    with vflow() as f:
        f.i = Inc(1)
    with Recorder() as rec:
        f.run_until_complete()
    changes = [(old, new) for node, old, new in rec.of("on_node_status_change") if node is f.i]
    assert changes[0][0] == NodeTaskStatus.WaitingForStartNextGeneration(-1)
    assert NodeTaskStatus.Queued() in [new for _, new in changes]
    assert NodeTaskStatus.Executing() in [new for _, new in changes]
    assert changes[-1][1] == NodeTaskStatus.WaitingForStartNextGeneration(0)


def test_status_changes_form_a_consistent_chain_per_node():
    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
    with Recorder() as rec:
        f.run_until_complete()
    last = {}
    for who, old, new in rec.of("on_node_status_change"):
        if who in last:
            assert old == last[who], (who, old, last[who])
        last[who] = new
    assert last == {f.g: NodeTaskStatus.WaitingForStartNextGeneration(0), f.r: NodeTaskStatus.WaitingForStartNextGeneration(0)}


def test_defaulted_inputs_hook_fires_on_every_evaluation():
    body_log.clear()
    with vflow() as f:
        f.i = Inc(f.i)
    with Recorder() as rec:
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(stop_at_node_generation={f.i: (3,)})
    inc_calls = [ports for node, ports in rec.of("on_defaulted_inputs_set") if node is f.i]
    assert inc_calls == [[0], [], [], []]
    assert body_log.count("Inc body") == 4

    with vflow() as g:
        g.r = Read(g.g)
        g.g = Gen()
    with Recorder() as rec:
        g.run_until_complete()
    assert rec.of("on_defaulted_inputs_set") == [(g.g, []), (g.r, [])]


def test_error_and_limit_hooks():
    with vflow() as f:
        f.bad = Bad()
    with Recorder() as rec:
        with pytest.raises(ValueError):
            f.run_until_complete()
    ((node, error),) = rec.of("on_node_error")
    assert node is f.bad and isinstance(error, ValueError)
    assert rec.of("on_flow_end") == [(f._flow,)]  # even when the run ends with an error

    with vflow() as g:
        g.i = Inc(g.i)
    with Recorder() as rec:
        with pytest.raises(TerminateLimitReached):
            g.run_until_complete(stop_at_node_generation=(2,))
    assert rec.of("on_node_generation_limit") == [(g.i, (2,))]


def test_one_active_instrument_nesting_replaces_the_outer_one():
    outer, inner = Recorder(), Recorder()
    with vflow() as f:
        f.i = Inc(1)
    assert type(get_current_flow_instrument()) is FlowInstrument  # the no-op
    with outer:
        assert get_current_flow_instrument() is outer
        with inner:
            assert get_current_flow_instrument() is inner
            f.run_until_complete()
        assert get_current_flow_instrument() is outer
        assert outer.events == [] and inner.events
        f.run_until_complete()
        assert outer.events
    assert type(get_current_flow_instrument()) is FlowInstrument
    count = len(inner.events)
    f.run_until_complete()
    assert len(inner.events) == count  # not active any more: not called


def test_an_instrument_that_is_not_active_is_never_called():
    idle = Recorder()
    with vflow() as f:
        f.g = Gen()
        f.r = Read(f.g)
        f.i = Inc(f.i)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.i: (2,)})
    assert idle.events == []


def test_base_hooks_are_no_ops():
    base = FlowInstrument()
    with vflow() as f:
        f.i = Inc(1)
    with base:
        f.run_until_complete()
    assert f.i.get_data() == (2,)


def test_barrier_write_hook_when_a_value_waits_for_a_level_0_consumer():
    """A final value is not replaced before every level-0 consumer gathered it (SPEC §3.4): the
    fast self-loop waits for the consumer, which waits for a slow source."""
    events = []
    log = []

    class Barrier(FlowInstrument):
        @contextmanager
        def on_barrier_node_write(self, flow, node, data, run_level):
            events.append(("enter", node, data, run_level))
            yield
            events.append(("exit", node))

    @node
    async def Tick(x: int = 0):
        log.append(f"tick{x}")
        return x + 1

    @node
    async def Slow():
        await sleep(5)
        log.append("slow")
        return 100

    @node
    async def Consumer(a, b):
        log.append(f"C({a},{b})")
        return a + b

    with vflow() as f:
        f.tick = Tick(f.tick)
        f.slow = Slow()
        f.c = Consumer(f.tick, f.slow)
    with Barrier():
        with pytest.raises(TerminateLimitReached):
            f.run_until_complete(stop_at_node_generation={f.c: (1,)})
    assert log == ["tick0", "tick1", "slow", "C(1,100)", "tick2", "slow", "C(2,100)"]
    # the hook brackets every write of a final value (as in flowno); the second one waited
    ticks = [event for event in events if event[1] is f.tick]
    assert ticks[:4] == [("enter", f.tick, (1,), 0), ("exit", f.tick), ("enter", f.tick, (2,), 0), ("exit", f.tick)]
    waited = events.index(("enter", f.tick, (2,), 0))
    assert ("enter", f.slow, (100,), 0) in events[waited:events.index(("exit", f.tick), waited)]


def test_stream_error_hook_when_the_producer_failed():
    @node
    async def Broken():
        yield 1
        raise KeyError("broken")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        try:
            return [x async for x in xs]
        except NodeExecutionError:
            return "producer failed"

    with vflow() as f:
        f.b = Broken()
        f.r = Reader(f.b)
    with Recorder() as rec:
        with pytest.raises(NodeExecutionError):
            f.run_until_complete(terminate_on_node_error=False)
    ((stream, error),) = rec.of("on_stream_error")
    assert stream.output.node is f.b and stream.input.node is f.r
    assert isinstance(error, NodeExecutionError) and error.node is f.b
    assert f.r.get_data() == ("producer failed",)
