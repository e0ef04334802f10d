"""Property-test a flow with hypothesis, in virtual time, using flowno_core.testing.

Run it with ``python examples/testing_flows.py`` (or put the ``test_*`` functions in a test file
and run pytest). It takes about a second: each property runs a few dozen random cases.

The flow under test smooths sensor readings that arrive one every 0.5 s::

    Readings(values) --chunks--> MovingAverage(window) --> (the list of averages)

Two properties are checked:

1. ``test_moving_average_matches_reference``: for random readings and windows, the flow gives what a
   plain-Python reference computes, and on a ``VirtualClock`` the run takes exactly 0.5 s per reading
   of flow time while costing no wall time.
2. ``test_random_flows_match_the_cycle_rules``: ``flowno_core.testing.strategies.flow_specs`` draws
   random flows with cycles, and ``flowno_core.testing.flows.reference_values`` says, without
   running anything, what every node must hold at each generation. The same two tools check your own
   changes to how a flow is wired.
"""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_core import FlowHDL, Stream, TerminateLimitReached, node, sleep
from flowno_core.testing import VirtualClock
from flowno_core.testing.flows import FlowSpec, reference_values
from flowno_core.testing.strategies import flow_specs

INTERVAL = 0.5  # seconds between two readings


# ------------------------------------------------------------------ the flow under test
@node
async def Readings(values: list[int]):
    """A streaming source: one reading every INTERVAL seconds."""
    for value in values:
        await sleep(INTERVAL)
        yield value


@node(stream_in=["readings"])
async def MovingAverage(readings: Stream[int], window: int = 3) -> list[float]:
    """The mean of the last ``window`` readings, after each reading."""
    recent: deque[int] = deque(maxlen=window)
    averages = []
    async for value in readings:
        recent.append(value)
        averages.append(sum(recent) / len(recent))
    return averages


def reference(values: list[int], window: int) -> list[float]:
    """What MovingAverage must compute, in plain Python."""
    return [sum(values[max(0, i + 1 - window) : i + 1]) / min(i + 1, window) for i in range(len(values))]


# ------------------------------------------------------------------ the properties
cases = {"moving average": 0, "random flows": 0}


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(values=st.lists(st.integers(-100, 100), max_size=12), window=st.integers(1, 5))
def test_moving_average_matches_reference(values: list[int], window: int) -> None:
    clock = VirtualClock()
    with FlowHDL(clock=clock) as f:
        f.averages = MovingAverage(Readings(values), window)
    f.run_until_complete()
    assert f.averages.get_data() == (reference(values, window),)
    assert clock.now() == INTERVAL * len(values)  # exact flow time, no wall time spent
    cases["moving average"] += 1


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(flow_specs(cycles=True, breakable=True, max_nodes=5))
def test_random_flows_match_the_cycle_rules(spec: FlowSpec) -> None:
    f = spec.build()
    try:
        f.run_until_complete(stop_at_node_generation=(3,))
    except TerminateLimitReached:
        pass
    expected = reference_values(spec, 3)
    assert expected is not None
    for index, flow_node in enumerate(spec.finalized_nodes(f)):
        if flow_node.generation is not None:
            assert flow_node.get_data() == (expected[index][flow_node.generation[0]],)
    cases["random flows"] += 1


def main() -> None:
    test_moving_average_matches_reference()
    test_random_flows_match_the_cycle_rules()
    for name, count in cases.items():
        print(f"{name}: {count} random cases passed")
    print(f"example: readings [4, 8, 6, 2], window 2 -> {reference([4, 8, 6, 2], 2)}")


if __name__ == "__main__":
    main()
