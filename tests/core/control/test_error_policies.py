"""Run control (issue 13): on_error="stop" | "continue" | "skip", critical=True, optional inputs; in
DAGs, cycles and streams. A failed generation publishes a ``Skipped`` marker that skips the
downstream of that generation (optional ports take their default instead)."""

from __future__ import annotations

import logging

import pytest

from flowno_core import FlowHDL, Skipped, TerminateLimitReached, VirtualClock, node


def vflow(**control) -> FlowHDL:
    return FlowHDL(clock=VirtualClock(), **control)


ran: list[str] = []


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


@node
async def Plus(x: int) -> int:
    ran.append("Plus")
    return x + 1


@node
async def Source(x: int = 5) -> int:
    return x


def failing(policy: str, **options):
    @node(on_error=policy, **options)
    async def Fails(x: int = 0) -> int:
        ran.append("Fails")
        raise RuntimeError(f"broken at {x}")

    return Fails


def test_stop_is_the_default_and_ends_the_run_with_the_error():
    Fails = failing("stop")
    with vflow() as f:
        f.bad = Fails()
        f.after = Plus(f.bad)
    with pytest.raises(RuntimeError, match="broken"):
        f.run_until_complete()


def test_continue_records_the_error_skips_dependants_and_lets_independent_nodes_finish(caplog):
    Fails = failing("continue")
    with vflow() as f:
        f.bad = Fails()
        f.after = Plus(f.bad)
        f.after2 = Plus(f.after)
        f.independent = Plus(Source())
    with caplog.at_level(logging.WARNING, logger="flowno_core.flow"):
        f.run_until_complete()  # the run completes: the failure is in the report, not raised
    assert f.independent.get_data() == (6,)
    marker = f.bad.get_data()
    assert isinstance(marker, Skipped) and not marker and marker.failed
    assert marker.origin is f.bad and marker.generation == (0,)
    assert isinstance(marker.error, RuntimeError)
    assert f.after.get_data() is marker and f.after2.get_data() is marker
    assert ran.count("Plus") == 1  # only the independent one ran
    assert any("Fails#" in r.getMessage() and "continue" in r.getMessage() for r in caplog.records)


def test_skip_marks_the_generation_skipped_downstream():
    Fails = failing("skip")
    with vflow() as f:
        f.bad = Fails()
        f.after = Plus(f.bad)
    f.run_until_complete()
    marker = f.after.get_data()
    assert isinstance(marker, Skipped) and not marker.failed and marker.origin is f.bad


def test_an_optional_input_takes_its_default_when_its_producer_fails_or_is_skipped():
    for policy in ("continue", "skip"):
        Fails = failing(policy)

        @node(optional=["x"])
        async def Tolerant(x: int = 100) -> int:
            return x + 1

        with vflow() as f:
            f.bad = Fails()
            f.skipped = Plus(f.bad)
            f.direct = Tolerant(f.bad)
            f.indirect = Tolerant(f.skipped)
        f.run_until_complete()
        assert f.direct.get_data() == (101,), policy
        assert f.indirect.get_data() == (101,), policy


def test_critical_forces_stop_whatever_on_error_says():
    Fails = failing("skip", critical=True)
    with vflow() as f:
        f.bad = Fails()
    with pytest.raises(RuntimeError, match="broken"):
        f.run_until_complete()


def test_flow_level_on_error_applies_to_every_node():
    @node
    async def Boom(x: int = 0) -> int:
        raise ValueError("boom")

    with vflow(on_error="continue") as f:
        f.bad = Boom()
        f.ok = Plus(Source())
    f.run_until_complete()
    assert isinstance(f.bad.get_data(), Skipped) and f.ok.get_data() == (6,)


def test_a_failure_before_a_streaming_node_publishes_anything_still_skips_its_readers():
    @node(on_error="skip")
    async def Nothing():
        raise RuntimeError("no chunk at all")
        yield 0  # an async generator

    @node(stream_in=["xs"])
    async def Total(xs) -> int:
        return sum([x async for x in xs])

    with vflow() as f:
        f.src = Nothing()
        f.total = Total(f.src)
    f.run_until_complete()
    assert isinstance(f.total.get_data(), Skipped)


def test_the_next_generation_after_a_skipped_one_runs_normally():
    @node
    async def Count(x: int = 0) -> int:
        return x + 1

    @node(on_error="skip")
    async def OddFails(x: int) -> int:
        if x % 2:
            raise ValueError("odd")
        return x

    seen: list[object] = []

    @node
    async def Watch(x: int) -> None:
        seen.append(x)

    with vflow() as f:
        f.count = Count(f.count)
        f.even = OddFails(f.count)
        f.watch = Watch(f.even)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.count: (6,)})
    assert seen[:2] == [2, 4]  # Watch's code never sees a marker: it skips 1 and 3
    assert f.even._data.gen >= (3,)
