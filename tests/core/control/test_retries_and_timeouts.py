"""Run control (issue 13): retries (delays, backoff, cap, jitter, retry_on, Retry-After) and
timeouts (per evaluation, per streamed chunk), all in virtual time, in DAGs, cycles and streams."""

from __future__ import annotations

import pytest

from flowno_core import FlowHDL, TerminateLimitReached, VirtualClock, node, sleep
from flowno_core.errors import NodeTimeoutError
from flowno_core._graph.control.policy import Policy


def vflow(**control) -> FlowHDL:
    return FlowHDL(clock=VirtualClock(), **control)


def now(f: FlowHDL) -> float:
    return f._flow.event_loop.clock.now()


class Flaky:
    """Fails the first ``failures`` calls with ``error``, then returns its input times 10."""

    def __init__(self, failures: int, error: type[Exception] = ValueError) -> None:
        self.failures = failures
        self.error = error
        self.calls: list[float] = []


@node
async def Plus(x: int) -> int:
    return x + 1


# -- retries -----------------------------------------------------------------------------------
def test_a_node_that_fails_once_then_succeeds_is_retried_after_its_delay():
    state = Flaky(1)

    @node(retries=2, retry_delay=0.5)
    async def Fetch(x: int = 1) -> int:
        state.calls.append(now(f))
        if len(state.calls) <= state.failures:
            raise state.error("transient")
        return x * 10

    with vflow() as f:
        f.fetch = Fetch()
        f.after = Plus(f.fetch)
    f.run_until_complete()
    assert f.after.get_data() == (11,)
    assert state.calls == [0.0, 0.5]


def test_delays_grow_by_the_backoff_factor_up_to_the_cap():
    state = Flaky(4)

    @node(retries=4, retry_delay=1.0, retry_backoff=3.0, retry_max_delay=5.0)
    async def Fetch() -> int:
        state.calls.append(now(f))
        if len(state.calls) <= state.failures:
            raise ValueError("again")
        return 1

    with vflow() as f:
        f.fetch = Fetch()
    f.run_until_complete()
    gaps = [b - a for a, b in zip(state.calls, state.calls[1:])]
    assert gaps == pytest.approx([1.0, 3.0, 5.0, 5.0])


def test_when_retries_are_spent_the_last_error_ends_the_run_naming_the_node():
    state = Flaky(10)

    @node(retries=2, retry_delay=0)
    async def Fetch() -> int:
        state.calls.append(now(f))
        raise ValueError(f"attempt {len(state.calls)}")

    with vflow() as f:
        f.fetch = Fetch()
    with pytest.raises(ValueError, match="attempt 3") as info:
        f.run_until_complete()
    assert len(state.calls) == 3
    assert any("(Fetch)" in note for note in info.value.__notes__)


def test_retry_on_limits_which_errors_are_retried():
    calls: list[str] = []

    @node(retries=3, retry_delay=0, retry_on=(KeyError,))
    async def Fetch() -> int:
        calls.append("x")
        raise ValueError("not retryable")

    with vflow() as f:
        f.fetch = Fetch()
    with pytest.raises(ValueError):
        f.run_until_complete()
    assert calls == ["x"]


def test_an_error_carrying_retry_after_waits_at_least_that_long():
    calls: list[float] = []

    class RateLimited(Exception):
        retry_after = 7.0

    @node(retries=1, retry_delay=0.1)
    async def Fetch() -> int:
        calls.append(now(f))
        if len(calls) == 1:
            raise RuntimeError("wrapped") from RateLimited()  # found on the cause chain too
        return 1

    with vflow() as f:
        f.fetch = Fetch()
    f.run_until_complete()
    assert calls == [0.0, 7.0]


def test_jitter_spreads_delays_within_its_fraction():
    policy = Policy(retry_delay=10.0, retry_jitter=0.2)
    import random

    rng = random.Random(5)
    delays = [policy.delay(1, None, rng) for _ in range(200)]
    assert all(8.0 <= d <= 12.0 for d in delays)
    assert len(set(delays)) > 100


def test_a_streaming_node_is_retried_only_before_its_first_chunk():
    attempts: list[int] = []

    @node(retries=3, retry_delay=0)
    async def Gen(fail_late: bool = True):
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise ValueError("before any chunk: retried")
        yield 1
        raise ValueError("after a chunk: not retried")

    @node(stream_in=["xs"])
    async def Sum(xs) -> int:
        total = 0
        async for x in xs:
            total += x
        return total

    with vflow() as f:
        f.gen = Gen()
        f.total = Sum(f.gen)
    with pytest.raises(ValueError, match="after a chunk"):
        f.run_until_complete()
    assert attempts == [0, 1]


def test_retries_work_inside_a_cycle():
    failures = {"left": 1}

    @node(retries=1, retry_delay=0.25)
    async def Step(x: int = 0) -> int:
        if x == 2 and failures["left"]:
            failures["left"] -= 1
            raise ValueError("once, at 2")
        return x + 1

    with vflow() as f:
        f.a = Step(f.b)
        f.b = Plus(f.a)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (3,)})
    assert f.a.get_data() == (7,)  # 1, 3, 5, 7: the failed attempt left no trace
    assert now(f) == 0.25


# -- timeouts ----------------------------------------------------------------------------------
def test_an_evaluation_over_its_timeout_raises_node_timeout_error_naming_node_generation_and_limit():
    @node(timeout=2.0)
    async def Slow() -> int:
        await sleep(10)
        return 1

    with vflow() as f:
        f.slow = Slow()
    with pytest.raises(NodeTimeoutError) as info:
        f.run_until_complete()
    error = info.value
    assert isinstance(error, TimeoutError)
    assert error.node is f.slow and error.generation == (0,) and error.limit == 2.0
    assert "(Slow)" in str(error) and "(0,)" in str(error) and "timeout=2.0" in str(error)
    assert now(f) == 2.0


def test_a_timeout_then_a_retry_that_is_fast_enough():
    durations = [10.0, 0.5]

    @node(timeout=1.0, retries=1, retry_delay=0)
    async def Sometimes() -> int:
        await sleep(durations.pop(0))
        return 5

    with vflow() as f:
        f.s = Sometimes()
    f.run_until_complete()
    assert f.s.get_data() == (5,)
    assert now(f) == 1.5


def test_the_nodes_own_timeout_error_is_not_ours():
    @node(timeout=100.0)
    async def Own() -> int:
        raise TimeoutError("my own")

    with vflow() as f:
        f.own = Own()
    with pytest.raises(TimeoutError, match="my own") as info:
        f.run_until_complete()
    assert not isinstance(info.value, NodeTimeoutError)


def test_a_timeout_inside_a_streaming_chunk():
    @node(chunk_timeout=1.0)
    async def Drip():
        for delay in (0.5, 0.5, 3.0):
            await sleep(delay)
            yield delay

    @node(stream_in=["xs"])
    async def Collect(xs) -> list:
        return [x async for x in xs]

    with vflow() as f:
        f.drip = Drip()
        f.out = Collect(f.drip)
    with pytest.raises(NodeTimeoutError) as info:
        f.run_until_complete()
    assert info.value.what == "chunk" and info.value.generation == (0, 2) and info.value.limit == 1.0
    assert "chunk_timeout=1.0" in str(info.value)
    assert now(f) == 2.0


def test_chunk_timeout_does_not_count_time_paused_by_a_slow_reader():
    @node(chunk_timeout=1.0)
    async def Fast():
        for i in range(3):
            yield i

    @node(stream_in=["xs"])
    async def SlowReader(xs) -> int:
        total = 0
        async for x in xs:
            await sleep(5)  # the producer waits (back-pressure): not its own slowness
            total += x
        return total

    with vflow() as f:
        f.fast = Fast()
        f.total = SlowReader(f.fast)
    f.run_until_complete()
    assert f.total.get_data() == (3,)


def test_flow_defaults_apply_and_a_nodes_own_option_wins():
    seen: list[str] = []

    @node
    async def Slow() -> int:
        seen.append("slow")
        await sleep(10)
        return 1

    @node(timeout=None)
    async def Exempt() -> int:
        seen.append("exempt")
        await sleep(10)
        return 2

    with vflow(timeout=1.0) as f:
        f.exempt = Exempt()
    f.run_until_complete()
    assert f.exempt.get_data() == (2,)
    with vflow(timeout=1.0) as g:
        g.slow = Slow()
    with pytest.raises(NodeTimeoutError):
        g.run_until_complete()


def test_a_timeout_waiting_for_the_first_chunk_names_the_chunk_generation():
    @node(chunk_timeout=1.0)
    async def Slow():
        await sleep(5.0)
        yield 1

    @node(stream_in=["xs"])
    async def Collect(xs) -> list:
        return [x async for x in xs]

    with vflow() as f:
        f.slow = Slow()
        f.out = Collect(f.slow)
    with pytest.raises(NodeTimeoutError) as info:
        f.run_until_complete()
    assert info.value.what == "chunk" and info.value.generation == (0, 0)  # the first chunk of lap 0
    assert "timed out computing generation (0, 0)" in str(info.value)
