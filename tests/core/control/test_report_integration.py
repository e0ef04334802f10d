"""Run reports as real runs produce them (issue 13): the exact records (node, generation, status,
attempts, error type) of plain DAGs, retries, timeouts, on_error policies through streams and
cycles, cancelled and timed-out runs; raise_for_errors and to_json on real runs; and a property
test over random DAGs. Virtual time throughout: no real sleeps, no timing assertions.

(test_report.py drives the recorder directly; this file goes through ``run_until_complete``.)
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import (
    FlowCancelled,
    FlowHDL,
    FlowTimeoutError,
    NodeTimeoutError,
    RunFailed,
    RunOutcome,
    RunReport,
    Skipped,
    TerminateLimitReached,
    VirtualClock,
    node,
    sleep,
)

Row = tuple[str, Any, str, int, Any]


def vflow(**control: Any) -> FlowHDL:
    return FlowHDL(clock=VirtualClock(), **control)


def rows(report: RunReport) -> list[Row]:
    """Each record as (node name, generation, status, attempts, error type or None), in order."""
    return [
        (r.node_name, r.generation, r.status.value, r.attempts, None if r.error is None else type(r.error))
        for r in report.evaluations
    ]


def by_node(report: RunReport) -> dict[str, list[Row]]:
    """The rows of each node, in the order that node's evaluations ended."""
    grouped: dict[str, list[Row]] = defaultdict(list)
    for row in rows(report):
        grouped[row[0]].append(row)
    return dict(grouped)


def name(n: Any) -> str:
    return repr(n)  # how reports name nodes (``Add#3``: the counter is per class and process-wide)


# (No test passes a constant as a node's argument: flowno wraps it in a Constant node, which would
# have its own record. Values come from the nodes' defaults and from other nodes.)


@node
async def Source(x: int = 1) -> int:
    return x


@node
async def Add(x: int = 0, y: int = 1) -> int:
    return x + y


@node
async def Text() -> str:
    return "12"


@node
async def BadText() -> str:
    return "twelve"


@node
async def Plus(x: int) -> int:
    return x + 1


# ---------------------------------------------------------------------------------------- a plain DAG
def test_a_plain_dag_has_one_succeeded_record_per_node_and_a_clean_report():
    with vflow() as f:
        f.src = Source()
        f.left = Add(f.src)
        f.right = Add(f.src, f.left)
        f.join = Add(f.left, f.right)
    report = f.run_until_complete()

    assert f.join.get_data() == (5,)
    assert report is f.last_report
    assert report.ok and report.outcome is RunOutcome.COMPLETED and report.error is None
    assert sorted(rows(report)) == sorted(
        (name(n), (0,), "succeeded", 1, None) for n in (f.src, f.left, f.right, f.join)
    )
    assert rows(report)[0][0] == name(f.src) and rows(report)[-1][0] == name(f.join)  # dependency order
    assert list(report.nodes)[0] == name(f.src)
    for n in (f.src, f.left, f.right, f.join):
        summary = report.nodes[name(n)]
        assert (summary.evaluations, summary.succeeded, summary.failures, summary.attempts) == (1, 1, 0, 1)
        assert summary.last_generation == (0,) and summary.last_error is None
    totals = report.totals
    assert (totals.evaluations, totals.succeeded, totals.failed, totals.skipped) == (4, 4, 0, 0)
    assert (totals.cancelled, totals.timed_out, totals.attempts) == (0, 0, 4)
    assert report.errors == [] and report.truncated == 0
    report.raise_for_errors()  # ok: raises nothing


def test_a_streaming_lap_is_one_record_at_the_laps_generation():
    @node
    async def Count(n: int = 3):
        for i in range(n):
            yield i

    @node(stream_in=["xs"])
    async def Total(xs) -> int:
        return sum([x async for x in xs])

    with vflow() as f:
        f.count = Count()
        f.total = Total(f.count)
    report = f.run_until_complete()
    assert f.total.get_data() == (3,)
    assert sorted(rows(report)) == sorted(
        [(name(f.count), (0,), "succeeded", 1, None), (name(f.total), (0,), "succeeded", 1, None)]
    )
    assert report.ok


# ---------------------------------------------------------------------------------------- retries
def test_a_node_that_fails_once_then_succeeds_has_one_record_with_two_attempts():
    calls: list[int] = []

    @node(retries=3, retry_delay=0.5)
    async def Flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise ConnectionError("transient")
        return x * 10

    with vflow() as f:
        f.src = Source()
        f.flaky = Flaky(f.src)
        f.after = Plus(f.flaky)
    report = f.run_until_complete()

    assert f.after.get_data() == (11,) and calls == [1, 1]
    assert report.ok and report.errors == []
    assert sorted(rows(report)) == sorted(
        [
            (name(f.src), (0,), "succeeded", 1, None),
            (name(f.flaky), (0,), "succeeded", 2, None),  # one record for the evaluation, not per try
            (name(f.after), (0,), "succeeded", 1, None),
        ]
    )
    record = next(r for r in report.evaluations if r.node is f.flaky)
    assert record.error is None and record.traceback is None
    assert record.duration == 0.5  # the retry's delay, in virtual time
    assert report.nodes[name(f.flaky)].attempts == 2
    assert report.totals.attempts == 4 and report.totals.evaluations == 3


def test_retries_exhausted_under_stop_raise_and_last_report_has_the_failed_record():
    calls: list[int] = []

    @node(retries=2, retry_delay=1.0, on_error="stop")
    async def Always(x: int) -> int:
        calls.append(x)
        raise ValueError(f"attempt {len(calls)}")

    with vflow() as f:
        f.src = Source()
        f.always = Always(f.src)
        f.after = Plus(f.always)
    with pytest.raises(ValueError, match="attempt 3") as info:
        f.run_until_complete()

    report = f.last_report
    assert report is not None and not report.ok
    assert report.outcome is RunOutcome.FAILED
    assert report.error is info.value
    assert rows(report) == [
        (name(f.src), (0,), "succeeded", 1, None),
        (name(f.always), (0,), "failed", 3, ValueError),  # retries + 1
    ]
    failed = report.errors[0]
    assert failed.node is f.always and failed.error is info.value
    assert str(failed.error) == "attempt 3"  # the last attempt's error
    assert "ValueError: attempt 3" in failed.traceback
    assert failed.duration == 3.0  # delays 1 + 2 (backoff 2)
    summary = report.nodes[name(f.always)]
    assert (summary.failed, summary.attempts, summary.last_error_generation) == (1, 3, (0,))
    assert summary.last_error is info.value
    assert name(f.after) not in report.nodes  # it never began


def test_retries_exhausted_under_continue_record_every_attempt_and_the_run_goes_on():
    @node(retries=1, retry_delay=0, on_error="continue")
    async def Always(x: int) -> int:
        raise KeyError("nope")

    with vflow() as f:
        f.src = Source()
        f.always = Always(f.src)
        f.after = Plus(f.always)
        f.other = Plus(f.src)
    report = f.run_until_complete()
    assert f.other.get_data() == (2,)
    assert sorted(rows(report), key=repr) == sorted(
        [
            (name(f.src), (0,), "succeeded", 1, None),
            (name(f.always), (0,), "failed", 2, KeyError),
            (name(f.after), (0,), "skipped", 0, None),
            (name(f.other), (0,), "succeeded", 1, None),
        ],
        key=repr,
    )
    assert report.outcome is RunOutcome.COMPLETED and not report.ok


def test_a_retry_on_mismatch_fails_at_the_first_attempt():
    @node(retries=5, retry_delay=0, retry_on=(ConnectionError,), on_error="continue")
    async def Picky() -> int:
        raise ValueError("not retryable")

    with vflow() as f:
        f.picky = Picky()
    report = f.run_until_complete()
    assert rows(report) == [(name(f.picky), (0,), "failed", 1, ValueError)]


# ---------------------------------------------------------------------------------------- timeouts
def test_timeout_and_chunk_timeout_are_timed_out_records_and_the_run_goes_on():
    @node(timeout=2.0)
    async def Slow(x: int) -> int:
        await sleep(10)
        return x

    @node(chunk_timeout=1.0)
    async def Drip(x: int):
        for delay in (0.5, 0.5, 3.0):  # the third chunk is late
            await sleep(delay)
            yield x

    @node(stream_in=["xs"])
    async def Collect(xs) -> list:
        return [x async for x in xs]

    with vflow(on_error="continue") as f:
        f.src = Source()
        f.slow = Slow(f.src)
        f.after_slow = Plus(f.slow)
        f.drip = Drip(f.src)
        f.collect = Collect(f.drip)
        f.fine = Plus(f.src)
    report = f.run_until_complete()

    assert report.outcome is RunOutcome.COMPLETED and not report.ok and report.error is None
    assert f.fine.get_data() == (2,)
    got = by_node(report)
    assert got == {
        name(f.src): [(name(f.src), (0,), "succeeded", 1, None)],
        name(f.fine): [(name(f.fine), (0,), "succeeded", 1, None)],
        name(f.slow): [(name(f.slow), (0,), "timed_out", 1, NodeTimeoutError)],
        # a chunk timed out: the record names the chunk's generation, as the error and marker do
        name(f.drip): [(name(f.drip), (0, 2), "timed_out", 1, NodeTimeoutError)],
        name(f.after_slow): [(name(f.after_slow), (0,), "skipped", 0, None)],
        name(f.collect): [(name(f.collect), (0,), "skipped", 0, None)],
    }
    slow = next(r for r in report.errors if r.node is f.slow)
    assert isinstance(slow.error, TimeoutError)
    assert (slow.error.node, slow.error.generation, slow.error.limit, slow.error.what) == (f.slow, (0,), 2.0, "evaluation")
    assert slow.duration == 2.0
    drip = next(r for r in report.errors if r.node is f.drip)
    assert (drip.error.node, drip.error.generation, drip.error.limit, drip.error.what) == (f.drip, (0, 2), 1.0, "chunk")
    assert {r.node_name for r in report.errors} == {name(f.slow), name(f.drip)}
    assert (report.totals.timed_out, report.totals.failed, report.totals.failures) == (2, 0, 2)
    assert report.nodes[name(f.drip)].timed_out == 1
    # the dependants hold the marker of the failure they skipped
    assert isinstance(f.after_slow.get_data(), Skipped) and f.after_slow.get_data().origin is f.slow
    assert f.collect.get_data().origin is f.drip and f.collect.get_data().generation == (0, 2)


def test_a_timed_out_attempt_that_is_retried_is_one_record_with_both_attempts():
    durations = [5.0, 0.5]

    @node(timeout=1.0, retries=1, retry_delay=0.25)
    async def Sometimes() -> int:
        await sleep(durations.pop(0))
        return 3

    with vflow() as f:
        f.s = Sometimes()
    report = f.run_until_complete()
    assert rows(report) == [(name(f.s), (0,), "succeeded", 2, None)]
    assert report.evaluations[0].duration == 1.75 and report.ok


# ---------------------------------------------------------------------------------------- on_error
def test_skip_through_streams_stops_the_readers_of_that_lap_and_records_them_skipped():
    @node(on_error="skip")
    async def Tokens(n: int = 3):
        for i in range(n):
            yield i
        raise RuntimeError("cut off")

    @node(stream_in=["xs"])
    async def Upper(xs):
        async for x in xs:
            yield x * 10

    @node(stream_in=["xs"])
    async def Total(xs) -> int:
        t = 0
        async for x in xs:
            t += x
        return t

    @node(stream_in=["xs"], optional=["xs"])
    async def Lenient(xs) -> int:
        return sum([x async for x in xs])

    with vflow() as f:
        f.tokens = Tokens()
        f.upper = Upper(f.tokens)
        f.total = Total(f.upper)
        f.after = Plus(f.total)
        f.lenient = Lenient(f.tokens)
    report = f.run_until_complete()

    assert by_node(report) == {
        # it failed after publishing chunks (0, 0)..(0, 2): the record names the chunk it was computing
        name(f.tokens): [(name(f.tokens), (0, 3), "skipped", 1, RuntimeError)],
        name(f.upper): [(name(f.upper), (0,), "skipped", 0, None)],
        name(f.total): [(name(f.total), (0,), "skipped", 0, None)],
        name(f.after): [(name(f.after), (0,), "skipped", 0, None)],
        name(f.lenient): [(name(f.lenient), (0,), "succeeded", 1, None)],
    }
    assert f.lenient.get_data() == (3,)  # an optional stream just ends: it saw 0, 1, 2
    marker = f.after.get_data()
    assert isinstance(marker, Skipped) and marker.origin is f.tokens and marker.generation == (0, 3)
    assert f.tokens.get_data() is f.upper.get_data() is f.total.get_data() is marker  # one marker, passed on
    # skip is a tolerated failure: no error of the run
    assert report.ok and report.errors == []
    assert report.totals.skipped == 4 and report.totals.failures == 0
    assert report.nodes[name(f.tokens)].skipped == 1 and report.nodes[name(f.tokens)].last_error is None


def test_skip_in_a_cycle_skips_the_dependants_of_that_generation_and_an_optional_port_recovers():
    fail_at = {2}

    @node(on_error="skip")
    async def Step(x: int = 0) -> int:
        if x in fail_at:
            fail_at.discard(x)
            raise RuntimeError("once, at 2")
        return x + 1

    @node(optional=["x"])
    async def Back(x: int = 0) -> int:
        return x + 1

    seen: list[int] = []

    @node
    async def Watch(x: int) -> None:
        seen.append(x)

    with vflow() as f:
        f.step = Step(f.back)
        f.back = Back(f.step)
        f.watch = Watch(f.step)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.step: (3,)})

    report = f.last_report
    assert report is not None and report.outcome is RunOutcome.LIMIT_REACHED
    # step: 0 -> 1; back: 2; step(1): 2 fails -> marker; back: its default 0 -> 1; step(2): 1 -> 2;
    # back: 3; step(3): 3 -> 4
    got = by_node(report)
    assert got[name(f.step)] == [
        (name(f.step), (0,), "succeeded", 1, None),
        (name(f.step), (1,), "skipped", 1, RuntimeError),
        (name(f.step), (2,), "succeeded", 1, None),
        (name(f.step), (3,), "succeeded", 1, None),
    ]
    assert got[name(f.back)][:3] == [
        (name(f.back), (0,), "succeeded", 1, None),
        (name(f.back), (1,), "succeeded", 1, None),  # an optional port: it ran with its default
        (name(f.back), (2,), "succeeded", 1, None),
    ]
    assert got[name(f.watch)][:3] == [
        (name(f.watch), (0,), "succeeded", 1, None),
        (name(f.watch), (1,), "skipped", 0, None),  # the generation its input skipped
        (name(f.watch), (2,), "succeeded", 1, None),
    ]
    assert seen[:2] == [1, 2] and f.step.get_data() == (4,)
    assert report.nodes[name(f.step)].skipped == 1 and report.nodes[name(f.watch)].skipped == 1
    assert report.totals.failures == 0


def test_continue_lets_an_independent_branch_finish():
    @node(on_error="continue")
    async def Parse(text: str) -> int:
        return int(text)

    with vflow() as f:
        f.bad_text = BadText()
        f.bad = Parse(f.bad_text)
        f.bad_after = Plus(f.bad)
        f.bad_after2 = Plus(f.bad_after)
        f.text = Text()
        f.good = Parse(f.text)
        f.good_after = Plus(f.good)
        f.good_after2 = Plus(f.good_after)
    report = f.run_until_complete()

    assert f.good_after2.get_data() == (14,)
    assert report.outcome is RunOutcome.COMPLETED and report.error is None and not report.ok
    assert by_node(report) == {
        name(f.bad_text): [(name(f.bad_text), (0,), "succeeded", 1, None)],
        name(f.text): [(name(f.text), (0,), "succeeded", 1, None)],
        name(f.bad): [(name(f.bad), (0,), "failed", 1, ValueError)],
        name(f.bad_after): [(name(f.bad_after), (0,), "skipped", 0, None)],
        name(f.bad_after2): [(name(f.bad_after2), (0,), "skipped", 0, None)],
        name(f.good): [(name(f.good), (0,), "succeeded", 1, None)],
        name(f.good_after): [(name(f.good_after), (0,), "succeeded", 1, None)],
        name(f.good_after2): [(name(f.good_after2), (0,), "succeeded", 1, None)],
    }
    assert [r.node for r in report.errors] == [f.bad]
    totals = report.totals
    assert (totals.evaluations, totals.succeeded, totals.failed, totals.skipped) == (8, 5, 1, 2)
    marker = f.bad_after2.get_data()
    assert isinstance(marker, Skipped) and marker.failed and marker.error is report.errors[0].error


def test_critical_overrides_a_flow_default_of_continue():
    @node(critical=True)
    async def Must() -> int:
        raise OSError("disk gone")

    with vflow(on_error="continue") as f:
        f.must = Must()
        f.after = Plus(f.must)
    with pytest.raises(OSError, match="disk gone"):
        f.run_until_complete()
    report = f.last_report
    assert report is not None and report.outcome is RunOutcome.FAILED
    assert rows(report) == [(name(f.must), (0,), "failed", 1, OSError)]


# ---------------------------------------------------------------------------------------- ending a run
@pytest.mark.parametrize("waits", [True, False], ids=["awaits after cancel", "returns after cancel"])
def test_a_run_cancelled_from_a_node_records_the_in_flight_evaluation_as_cancelled(waits):
    @node
    async def Quits(x: int = 0) -> int:
        if x == 3:
            f.cancel("enough")
            if waits:
                await sleep(1)  # cancelled here; otherwise its value is computed but not published
        return x + 1

    with vflow() as f:
        f.q = Quits(f.q)
    with pytest.raises(FlowCancelled, match="enough") as info:
        f.run_until_complete()

    report = f.last_report
    assert report is not None
    assert report.outcome == "cancelled" and report.outcome is RunOutcome.CANCELLED
    assert report.error is info.value and not report.ok
    assert rows(report) == [
        (name(f.q), (0,), "succeeded", 1, None),
        (name(f.q), (1,), "succeeded", 1, None),
        (name(f.q), (2,), "succeeded", 1, None),
        (name(f.q), (3,), "cancelled", 1, None),
    ]
    assert f.q.get_data() == (3,)  # generation 3 was never published
    assert report.totals.cancelled == 1 and report.totals.failures == 0 and report.errors == []


def test_a_cancel_records_every_evaluation_in_flight():
    @node
    async def Slow(x: int) -> int:
        await sleep(5)
        return x

    @node
    async def Canceller(x: int) -> int:
        await sleep(1)
        f.cancel("stop now")
        await sleep(1)
        return x

    with vflow() as f:
        f.src = Source()
        f.slow = Slow(f.src)
        f.canceller = Canceller(f.src)
        f.after = Plus(f.slow)
    with pytest.raises(FlowCancelled):
        f.run_until_complete()
    report = f.last_report
    assert report is not None and report.outcome is RunOutcome.CANCELLED
    assert sorted(rows(report)) == sorted(
        [
            (name(f.src), (0,), "succeeded", 1, None),
            (name(f.slow), (0,), "cancelled", 1, None),
            (name(f.canceller), (0,), "cancelled", 1, None),
        ]
    )
    assert report.duration == 1.0


def test_a_run_timeout_has_outcome_timed_out_and_the_cut_evaluation_cancelled():
    @node
    async def Step(x: int = 0) -> int:
        await sleep(0.375)
        return x + 1

    with vflow() as f:
        f.a = Step(f.b)
        f.b = Step(f.a)
    with pytest.raises(FlowTimeoutError) as info:
        f.run_until_complete(timeout=1.0)

    report = f.last_report
    assert report is not None
    assert report.outcome == "timed_out" and report.outcome is RunOutcome.TIMED_OUT
    assert report.error is info.value and report.duration == 1.0 and not report.ok
    # a at 0..0.375, b at 0.375..0.75, a again from 0.75: cut at 1.0
    assert rows(report) == [
        (name(f.a), (0,), "succeeded", 1, None),
        (name(f.b), (0,), "succeeded", 1, None),
        (name(f.a), (1,), "cancelled", 1, None),
    ]
    assert report.errors == []  # the run's error is not an evaluation's


# ---------------------------------------------------------------------------------------- raise_for_errors
def test_raise_for_errors_on_a_real_run_with_failures():
    @node(on_error="continue")
    async def Parse(text: str) -> int:
        return int(text)

    @node(on_error="continue", timeout=1.0)
    async def Slow(x: int) -> int:
        await sleep(2)
        return x

    with vflow() as f:
        f.bad = Parse(BadText())
        f.ok = Parse(Text())
        f.slow = Slow(f.ok)
    report = f.run_until_complete()
    with pytest.raises(RunFailed) as info:
        report.raise_for_errors()
    error = info.value
    lines = str(error).splitlines()
    assert lines[0] == "2 errors in the run:"
    assert sorted(line.strip() for line in lines[1:]) == sorted(
        [
            f"{name(f.bad)} failed at generation (0,): ValueError: invalid literal for int() with base 10: 'twelve'",
            f"{name(f.slow)} failed at generation (0,): NodeTimeoutError: {report.nodes[name(f.slow)].last_error}",
        ]
    )
    assert {r.node for r in error.errors} == {f.bad, f.slow}
    assert isinstance(error.__cause__, ExceptionGroup)
    assert {type(e) for e in error.__cause__.exceptions} == {ValueError, NodeTimeoutError}
    assert len(error.exceptions) == 2


def test_raise_for_errors_of_a_run_that_raised_names_its_one_error():
    @node
    async def Boom() -> int:
        raise ZeroDivisionError("division by zero")

    with vflow() as f:
        f.boom = Boom()
    with pytest.raises(ZeroDivisionError) as raised:
        f.run_until_complete()
    with pytest.raises(RunFailed) as info:
        f.last_report.raise_for_errors()
    assert str(info.value) == f"{name(f.boom)} failed at generation (0,): ZeroDivisionError: division by zero"
    assert info.value.__cause__ is raised.value and info.value.exceptions == [raised.value]


def test_raise_for_errors_of_a_cancelled_run_names_the_ending():
    @node
    async def Quits() -> int:
        f.cancel("operator")
        await sleep(1)
        return 0

    with vflow() as f:
        f.q = Quits()
    with pytest.raises(FlowCancelled) as raised:
        f.run_until_complete()
    with pytest.raises(RunFailed) as info:
        f.last_report.raise_for_errors()
    assert str(info.value) == "the run ended (cancelled): FlowCancelled: the flow was cancelled: operator"
    assert info.value.errors == [] and info.value.__cause__ is raised.value


# ---------------------------------------------------------------------------------------- JSON
def test_to_json_of_a_real_run_with_failures():
    class Odd:
        def __repr__(self) -> str:
            return "<odd>"

    @node(on_error="continue", retries=1, retry_delay=0.5)
    async def Fails(x: int) -> Odd:
        raise ValueError(Odd())

    @node(on_error="continue", timeout=1.0)
    async def Slow(x: int) -> int:
        await sleep(3)
        return x

    with vflow() as f:
        f.src = Source()
        f.fails = Fails(f.src)
        f.after = Plus(f.fails)
        f.slow = Slow(f.src)
    report = f.run_until_complete()
    data = json.loads(report.to_json(indent=2))
    assert data == json.loads(report.to_json())

    assert data["outcome"] == "completed" and data["ok"] is False and data["error"] is None
    assert data["totals"]["evaluations"] == 4
    assert (data["totals"]["failed"], data["totals"]["timed_out"], data["totals"]["skipped"]) == (1, 1, 1)
    assert data["totals"]["attempts"] == 1 + 2 + 0 + 1
    records = {e["node"]: e for e in data["evaluations"]}
    assert set(records) == {name(f.src), name(f.fails), name(f.after), name(f.slow)}
    fails = records[name(f.fails)]
    assert (fails["generation"], fails["status"], fails["attempts"]) == ([0], "failed", 2)
    assert fails["error"]["type"] == "ValueError" and fails["error"]["message"] == "<odd>"
    assert "Traceback (most recent call last)" in fails["error"]["traceback"]
    slow = records[name(f.slow)]
    assert (slow["status"], slow["error"]["type"]) == ("timed_out", "flowno_core.errors.NodeTimeoutError")
    assert slow["duration"] == 1.0
    assert records[name(f.after)]["status"] == "skipped" and records[name(f.after)]["error"] is None
    assert data["nodes"][name(f.fails)]["last_error"]["type"] == "ValueError"
    assert data["nodes"][name(f.fails)]["last_error_generation"] == [0]
    assert data["nodes"][name(f.src)]["last_error_generation"] is None


def test_to_json_of_a_run_that_raised():
    @node(retries=1, retry_delay=0)
    async def Boom() -> int:
        raise ValueError("bad input")

    with vflow() as f:
        f.boom = Boom()
    with pytest.raises(ValueError):
        f.run_until_complete()
    data = json.loads(f.last_report.to_json())
    assert data["outcome"] == "failed" and data["ok"] is False
    assert data["error"]["type"] == "ValueError" and data["error"]["message"] == "bad input"
    assert [(e["node"], e["status"], e["attempts"]) for e in data["evaluations"]] == [(name(f.boom), "failed", 2)]


# ---------------------------------------------------------------------------------------- property
@st.composite
def dags(draw: Any) -> list[list[int]]:
    """For each node, the earlier nodes it reads (0 to 2 of them: ``Add()``, ``Add(a)``, ``Add(a, b)``;
    the missing inputs take their defaults)."""
    size = draw(st.integers(1, 8))
    spec: list[list[int]] = []
    for i in range(size):
        arity = draw(st.integers(0, min(2, i)))
        spec.append([draw(st.integers(0, i - 1)) for _ in range(arity)])
    return spec


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_random_dags_of_add_have_one_succeeded_record_per_node_at_generation_0(spec):
    defaults = [0, 1]
    expected_values: list[int] = []
    for inputs in spec:
        args = [expected_values[j] for j in inputs] + defaults[len(inputs):]
        expected_values.append(sum(args))

    with vflow() as f:
        for index, inputs in enumerate(spec):
            setattr(f, f"n{index}", Add(*(getattr(f, f"n{j}") for j in inputs)))
    report = f.run_until_complete()

    nodes = [getattr(f, f"n{index}") for index in range(len(spec))]
    assert [n.get_data() for n in nodes] == [(v,) for v in expected_values]
    succeeded = [(r.node_name, r.generation) for r in report.evaluations if r.status == "succeeded"]
    assert sorted(succeeded) == sorted((name(n), (0,)) for n in nodes)
    assert len(report.evaluations) == len(nodes)
    assert all(r.attempts == 1 and r.error is None for r in report.evaluations)
    assert report.totals.evaluations == len(nodes) == report.totals.succeeded == report.totals.attempts
    assert set(report.nodes) == {name(n) for n in nodes}
    assert report.ok and report.outcome is RunOutcome.COMPLETED
    # a node's record comes after the records of the nodes it reads
    order = {r.node_name: i for i, r in enumerate(report.evaluations)}
    for index, inputs in enumerate(spec):
        for j in inputs:
            assert order[name(nodes[j])] < order[name(nodes[index])]


def test_skip_propagates_through_a_cycle_and_stops_where_it_started_without_a_record():
    @node(on_error="skip")
    async def Step(x: int = 0) -> int:
        if x >= 4:
            raise RuntimeError("too big")
        return x + 1

    with vflow() as f:
        f.a = Step(f.b)
        f.b = Plus(f.a)
    report = f.run_until_complete()
    assert rows(report) == [
        (name(f.a), (0,), "succeeded", 1, None),
        (name(f.b), (0,), "succeeded", 1, None),
        (name(f.a), (1,), "succeeded", 1, None),
        (name(f.b), (1,), "succeeded", 1, None),
        (name(f.a), (2,), "skipped", 1, RuntimeError),
        (name(f.b), (2,), "skipped", 0, None),
    ]
    assert report.nodes[name(f.a)].last_generation == f.a.generation == (2,)
    assert report.ok  # a tolerated failure (skip) is no error of the run
    marker = f.a.get_data()  # the cycle stopped: no endless round of markers
    assert isinstance(marker, Skipped) and marker.origin is f.a and f.b.get_data() is marker
