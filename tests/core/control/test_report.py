"""Run reports built from recorders driven directly (no runtime): records, summaries and totals
against a plain model, the bound on kept records, JSON, raise_for_errors, laziness, and what one
``add`` costs in objects."""

from __future__ import annotations

import json
import pickle
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core.errors import DeadlockError, NodeExecutionError, RunFailed
from flowno_core._graph.control import report_details as report_module
from flowno_core._graph.control.report import DEFAULT_MAX_RECORDS, ReportRecorder, RunReport
from flowno_core._graph.control.report_details import EvaluationRecord, EvaluationStatus, RunOutcome
from flowno_core._graph.rules.lifecycle import ENDINGS

SETTINGS = settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
START = datetime(2026, 12, 4, 17, 0, tzinfo=timezone.utc)
S = EvaluationStatus
FAILING = (S.FAILED, S.TIMED_OUT)


class FakeNode:
    """What a report needs of a node: identity and a repr (flowno's are ``Add#0``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NODES = [FakeNode(name) for name in ("Source#0", "Add#0", "Add#1", "Mul#0", "Sink#0")]

Raw = tuple[Any, Any, EvaluationStatus, float, float, int, BaseException | None]


def record_all(raws: list[Raw], max_records: int | None = None, outcome: RunOutcome = RunOutcome.COMPLETED,
               error: BaseException | None = None) -> RunReport:
    recorder = ReportRecorder(0.0, START.timestamp(), max_records=max_records)
    for raw in raws:
        recorder.add(*raw)
    return recorder.finish(outcome, 100.0, error)


def evaluation(node: Any, status: EvaluationStatus = S.SUCCEEDED, generation: Any = (0,), started: float = 1.0,
               ended: float = 2.0, attempts: int = 1, error: BaseException | None = None) -> Raw:
    return (node, generation, status, started, ended, attempts, error)


def as_raw(record: EvaluationRecord) -> Raw:
    return (record.node, record.generation, record.status, record.started, record.ended, record.attempts, record.error)


# ---------------------------------------------------------------------------------------- the model
generations = st.one_of(st.none(), st.tuples(st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3)))
events = st.lists(
    st.tuples(st.integers(0, len(NODES) - 1), generations, st.sampled_from(list(S)), st.integers(0, 50),
              st.integers(0, 20), st.integers(0, 3)),
    max_size=60,
)


def raws_of(drawn: list[tuple[int, Any, EvaluationStatus, int, int, int]]) -> list[Raw]:
    """Integer-valued times, so that every sum of durations is exact in any order."""
    raws = []
    for index, (node, generation, status, started, duration, attempts) in enumerate(drawn):
        error = RuntimeError(f"error {index}") if status is not S.SUCCEEDED and status is not S.SKIPPED else None
        raws.append(evaluation(NODES[node], status, generation, float(started), float(started + duration), attempts, error))
    return raws


def model_summaries(raws: list[Raw]) -> dict[str, dict[str, Any]]:
    """What every summary must say, one evaluation at a time."""
    model: dict[str, dict[str, Any]] = {}
    for node, generation, status, started, ended, attempts, error in raws:
        entry = model.setdefault(repr(node), {
            "node": node, "evaluations": 0, **{s.value: 0 for s in S}, "attempts": 0, "total_duration": 0.0,
            "max_duration": 0.0, "last_error": None, "last_error_generation": None,
        })
        entry["evaluations"] += 1
        entry[status.value] += 1
        entry["attempts"] += attempts
        entry["total_duration"] += ended - started
        entry["max_duration"] = max(entry["max_duration"], ended - started)
        entry["last_generation"] = generation
        if status in FAILING:
            entry["last_error"], entry["last_error_generation"] = error, generation
    return model


@SETTINGS
@given(events, st.one_of(st.none(), st.integers(0, 25)))
def test_records_summaries_and_totals_match_the_model(drawn, max_records):
    raws = raws_of(drawn)
    report = record_all(raws, max_records)
    kept = raws if max_records is None else raws[max(0, len(raws) - max_records):]

    assert [as_raw(record) for record in report.evaluations] == kept
    assert all(record.node_name == repr(record.node) for record in report.evaluations)
    assert report.truncated == len(raws) - len(kept)
    assert [as_raw(record) for record in report.errors] == [raw for raw in kept if raw[2] in FAILING]

    model = model_summaries(raws)
    assert list(report.nodes) == list(model)
    for name, summary in report.nodes.items():
        expected = model[name]
        assert summary.node is expected["node"] and summary.node_name == name
        for field in ("evaluations", *(s.value for s in S), "attempts", "total_duration", "max_duration",
                      "last_generation", "last_error_generation"):
            assert getattr(summary, field) == expected[field], field
        assert summary.last_error is expected["last_error"]
        assert summary.mean_duration == expected["total_duration"] / expected["evaluations"]

    totals = report.totals
    assert totals.evaluations == len(raws)
    for status in S:
        assert getattr(totals, status.value) == sum(1 for raw in raws if raw[2] is status)
    assert totals.attempts == sum(raw[5] for raw in raws)
    assert totals.duration == sum(raw[4] - raw[3] for raw in raws)
    assert report.ok == (totals.failures == 0)


@SETTINGS
@given(events, st.integers(1, 10))
def test_the_bound_drops_records_but_never_counts(drawn, max_records):
    raws = raws_of(drawn)
    bounded, unbounded = record_all(raws, max_records), record_all(raws)
    assert bounded.nodes == unbounded.nodes
    assert bounded.totals == unbounded.totals
    assert bounded.evaluations == unbounded.evaluations[len(raws) - len(bounded.evaluations):]
    assert len(bounded.evaluations) == min(len(raws), max_records)


# ---------------------------------------------------------------------------------------- the bound
def test_the_default_bound_and_a_negative_one():
    assert ReportRecorder(0.0, START.timestamp()).max_records == DEFAULT_MAX_RECORDS == 100_000
    with pytest.raises(ValueError, match="max_records"):
        ReportRecorder(0.0, START.timestamp(), max_records=-1)


def test_a_bounded_recorder_keeps_the_latest_records_and_counts_the_rest():
    raws = [evaluation(NODES[i % 2], generation=(i,), started=float(i), ended=float(i + 1)) for i in range(1000)]
    report = record_all(raws, max_records=10)
    assert report.truncated == 990
    assert [record.generation for record in report.evaluations] == [(i,) for i in range(990, 1000)]
    assert report.nodes["Source#0"].evaluations == report.nodes["Add#0"].evaluations == 500
    assert report.nodes["Add#0"].last_generation == (999,)
    assert report.totals.duration == 1000.0


def test_zero_kept_records_still_count_everything():
    boom = ValueError("boom")
    report = record_all([evaluation(NODES[0]), evaluation(NODES[1], S.FAILED, (3,), error=boom)], max_records=0)
    assert report.evaluations == [] and report.errors == [] and report.truncated == 2
    assert report.nodes["Add#0"].failed == 1 and report.nodes["Add#0"].last_error is boom
    assert not report.ok


def test_a_bounded_recorder_keeps_memory_bounded():
    def record_many() -> object:
        recorder = ReportRecorder(0.0, START.timestamp(), max_records=100)
        for i in range(20_000):
            recorder.add(NODES[i % 5], (i,), S.SUCCEEDED, float(i), float(i) + 0.5, 1, None)
        return recorder

    def keep_plain(count: int) -> Callable[[], object]:
        return lambda: [(NODES[i % 5], (i,), S.SUCCEEDED, float(i), float(i) + 0.5, 1, None) for i in range(count)]

    assert retained_bytes(record_many) < retained_bytes(keep_plain(1_000))


def test_the_report_does_not_see_adds_after_finish():
    recorder = ReportRecorder(0.0, START.timestamp())
    recorder.add(*evaluation(NODES[0]))
    report = recorder.finish(RunOutcome.COMPLETED, 5.0)
    recorder.add(*evaluation(NODES[1]))
    assert report.totals.evaluations == len(report.evaluations) == 1


# ---------------------------------------------------------------------------------------- the hot path
def retained_bytes(fill: Callable[[], object]) -> int:
    """Bytes still allocated after ``fill()`` that its result keeps alive."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fill()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return after - before


def test_add_keeps_nothing_but_its_tuple():
    node, generation, status, started, ended = NODES[1], (7,), S.SUCCEEDED, 1.25, 2.5
    recorder = ReportRecorder(0.0, START.timestamp(), max_records=None)
    plain: list[Raw] = []

    def through_the_recorder() -> object:
        for _ in range(10_000):
            recorder.add(node, generation, status, started, ended, 1, None)
        return recorder

    def into_a_list() -> object:
        for _ in range(10_000):
            plain.append((node, generation, status, started, ended, 1, None))
        return plain

    recorded, baseline = retained_bytes(through_the_recorder), retained_bytes(into_a_list)
    assert baseline > 10_000 * 7 * 8  # the tuples themselves were counted
    assert recorded <= baseline * 1.05


def test_add_stores_the_runtimes_own_objects():
    generation, error = (4, 2), ValueError("boom")
    report = record_all([evaluation(NODES[2], S.FAILED, generation, error=error)])
    (record,) = report.evaluations
    assert record.node is NODES[2] and record.generation is generation and record.error is error


# ---------------------------------------------------------------------------------------- laziness
class CountedError(Exception):
    """Counts how often its message is rendered (formatting a traceback renders it)."""

    renders = 0

    def __str__(self) -> str:
        CountedError.renders += 1
        return "counted"


def test_tracebacks_are_formatted_only_when_read_and_once():
    CountedError.renders = 0
    try:
        raise CountedError()
    except CountedError as caught:
        error = caught
    report = record_all([evaluation(NODES[0]), evaluation(NODES[1], S.FAILED, error=error)])
    report.evaluations, report.errors, report.nodes, report.totals, report.ok, report.summary(), repr(report)
    assert CountedError.renders == 0
    record = report.errors[0]
    text = record.traceback
    assert text is not None and "CountedError: counted" in text and "raise CountedError()" in text
    renders = CountedError.renders
    assert record.traceback is text and CountedError.renders == renders
    assert report.evaluations[0].traceback is None


def test_records_are_built_on_first_read(monkeypatch):
    built: list[EvaluationRecord] = []

    def counted(*fields: Any) -> EvaluationRecord:
        record = EvaluationRecord(*fields)
        built.append(record)
        return record

    monkeypatch.setattr(report_module, "EvaluationRecord", counted)
    report = record_all([evaluation(NODES[i % 3]) for i in range(50)])
    report.nodes, report.totals, report.ok, report.summary(), repr(report)
    assert built == []
    evaluations = report.evaluations
    assert len(built) == 50 and report.evaluations is evaluations


# ---------------------------------------------------------------------------------------- JSON
class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


class WrongMessageError(Exception):
    def __str__(self) -> Any:
        return 42


class UnprintableNode:
    def __repr__(self) -> str:
        raise RuntimeError("no name for you")


def chained_error() -> BaseException:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("outer") from inner
    except ValueError as outer:
        outer.add_note("raised by node Add#0 while computing generation (0,)")
        return outer


awkward_errors = st.one_of(
    st.builds(ValueError, st.text()),
    st.builds(Exception, st.binary(), st.integers(), st.floats()),
    st.builds(lambda: RuntimeError(object(), lambda: None, {1, 2})),
    st.builds(lambda: TypeError("lone surrogate \udc80 and \x00 and \u2603")),
    st.builds(UnprintableError),
    st.builds(WrongMessageError),
    st.builds(chained_error),
    st.builds(KeyboardInterrupt),
    st.just(None),
)


def assert_plain_json(value: Any) -> None:
    """Only the types json.loads gives back: no tuples, enums, exceptions or nodes."""
    assert type(value) in (dict, list, str, int, float, bool, type(None)), repr(value)
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str
            assert_plain_json(item)
    elif type(value) is list:
        for item in value:
            assert_plain_json(item)


@SETTINGS
@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from(list(S)), awkward_errors), max_size=12),
    awkward_errors,
    st.sampled_from(list(RunOutcome)),
)
def test_json_round_trips_whatever_the_errors_and_nodes(drawn, run_error, outcome):
    nodes = [NODES[0], FakeNode("Add#0"), FakeNode("Add#0"), UnprintableNode()]  # a repeated and a broken name
    raws = [evaluation(nodes[n], status, (i,), float(i), float(i) + 0.25, 1, error) for i, (n, status, error) in enumerate(drawn)]
    report = record_all(raws, outcome=outcome, error=run_error)
    data = report.to_dict()
    assert_plain_json(data)
    assert json.loads(report.to_json()) == data
    assert json.loads(report.to_json(indent=2)) == data
    assert set(data["nodes"]) == {record["node"] for record in data["evaluations"]}
    assert len(data["nodes"]) == len({id(raw[0]) for raw in raws})


def test_the_json_document():
    error = chained_error()
    report = record_all(
        [evaluation(NODES[0], generation=None, started=0.5, ended=0.75),
         evaluation(NODES[1], S.FAILED, (2, 1), 1.0, 1.5, attempts=3, error=error)],
        outcome=RunOutcome.LIMIT_REACHED,
    )
    data = json.loads(report.to_json())
    assert data["outcome"] == "limit_reached" and data["ok"] is False and data["error"] is None
    assert datetime.fromisoformat(data["started_at"]) == START
    assert (data["started"], data["ended"], data["duration"], data["truncated"]) == (0.0, 100.0, 100.0, 0)
    assert data["totals"] == {"evaluations": 2, "succeeded": 1, "failed": 1, "skipped": 0, "cancelled": 0,
                              "timed_out": 0, "attempts": 4, "duration": 0.75}
    first, second = data["evaluations"]
    assert first == {"node": "Source#0", "generation": None, "status": "succeeded", "started": 0.5, "ended": 0.75,
                     "duration": 0.25, "attempts": 1, "error": None}
    assert second["generation"] == [2, 1] and second["status"] == "failed" and second["attempts"] == 3
    assert second["error"]["type"] == "ValueError" and second["error"]["message"] == "outer"
    for line in ("KeyError: 'inner'", "ValueError: outer", "raised by node Add#0 while computing generation (0,)"):
        assert line in second["error"]["traceback"]
    add = data["nodes"]["Add#0"]
    assert add["last_error"] == second["error"] and add["last_error_generation"] == [2, 1]
    assert add["mean_duration"] == add["max_duration"] == add["total_duration"] == 0.5
    deadlock = record_all([], outcome=RunOutcome.DEADLOCKED, error=DeadlockError("stuck")).to_dict()["error"]
    assert deadlock["type"] == "flowno_core.errors.DeadlockError" and deadlock["message"] == "stuck"


def test_status_and_outcome_words():
    assert [s.value for s in S] == ["succeeded", "failed", "skipped", "cancelled", "timed_out"]
    assert S.FAILED == "failed" and str(RunOutcome.LIMIT_REACHED) == "limit_reached"
    for ending in ENDINGS:  # the runtime turns its run phase into an outcome by name
        assert RunOutcome[ending.name].value == ending.label.replace(" ", "_")


# ---------------------------------------------------------------------------------------- raise_for_errors
def test_no_failure_raises_nothing_and_cancelled_or_skipped_evaluations_are_no_failures():
    report = record_all([evaluation(NODES[0]), evaluation(NODES[1], S.SKIPPED),
                         evaluation(NODES[2], S.CANCELLED, error=RuntimeError("stream closed by its reader"))])
    assert report.ok and report.errors == []
    assert report.raise_for_errors() is None


def test_one_failure_raises_run_failed_caused_by_it():
    boom = ValueError("boom")
    report = record_all([evaluation(NODES[0]), evaluation(NODES[1], S.FAILED, (2,), error=boom)], outcome=RunOutcome.FAILED,
                        error=boom)
    with pytest.raises(RunFailed) as caught:
        report.raise_for_errors()
    failure = caught.value
    assert str(failure) == "Add#0 failed at generation (2,): ValueError: boom"
    assert failure.__cause__ is boom and failure.exceptions == [boom]
    assert failure.errors == report.errors and failure.errors[0].error is boom
    assert str(pickle.loads(pickle.dumps(failure))) == str(failure)


def test_several_failures_raise_run_failed_caused_by_an_exception_group():
    first, second, late = ValueError("bad input"), KeyError("missing"), ValueError("worse input")
    report = record_all([
        evaluation(NODES[1], S.FAILED, (0,), error=first),
        evaluation(NODES[3], S.TIMED_OUT, (0, 2), error=second),
        evaluation(NODES[1], S.FAILED, (1,), error=late),
        evaluation(NODES[4]),
    ])
    with pytest.raises(RunFailed) as caught:
        report.raise_for_errors()
    failure = caught.value
    assert str(failure).splitlines() == [
        "2 errors in the run:",
        "  Add#0 failed at generation (1,): ValueError: worse input (2 failures)",
        "  Mul#0 failed at generation (0, 2): KeyError: 'missing'",
    ]
    group = failure.__cause__
    assert type(group) is ExceptionGroup and list(group.exceptions) == [first, second, late]
    assert failure.exceptions == [first, second, late] and len(failure.errors) == 3


def test_the_run_error_is_named_once_even_when_wrapped():
    boom = ValueError("boom")
    wrapped = NodeExecutionError(NODES[1], "node Add#0 failed")
    wrapped.__cause__ = boom
    report = record_all([evaluation(NODES[1], S.FAILED, error=boom)], outcome=RunOutcome.FAILED, error=wrapped)
    with pytest.raises(RunFailed) as caught:
        report.raise_for_errors()
    assert caught.value.exceptions == [boom] and caught.value.__cause__ is boom


def test_a_run_that_did_not_end_by_itself_is_not_ok():
    cancelled = record_all([evaluation(NODES[0])], outcome=RunOutcome.CANCELLED)
    assert not cancelled.ok
    with pytest.raises(RunFailed, match=r"^the run ended \(cancelled\)$") as caught:
        cancelled.raise_for_errors()
    assert caught.value.__cause__ is None and caught.value.exceptions == []

    stuck = DeadlockError("the flow cannot make progress")
    deadlocked = record_all([evaluation(NODES[0])], outcome=RunOutcome.DEADLOCKED, error=stuck)
    with pytest.raises(RunFailed, match=r"^the run ended \(deadlocked\): DeadlockError: the flow cannot") as caught:
        deadlocked.raise_for_errors()
    assert caught.value.__cause__ is stuck


def test_a_node_whose_failures_were_all_dropped_is_still_named():
    early, late = OSError("disk full"), ValueError("late")
    raws = [evaluation(NODES[3], S.FAILED, (0,), error=early)]
    raws += [evaluation(NODES[0], generation=(i,)) for i in range(20)]
    raws.append(evaluation(NODES[1], S.FAILED, (5,), error=late))
    report = record_all(raws, max_records=5)
    with pytest.raises(RunFailed) as caught:
        report.raise_for_errors()
    assert "Mul#0 failed at generation (0,): OSError: disk full" in str(caught.value)
    assert caught.value.exceptions == [late, early] and len(caught.value.errors) == 1


def test_a_base_exception_failure_is_grouped_too():
    interrupt, boom = KeyboardInterrupt(), ValueError("boom")
    report = record_all([evaluation(NODES[0], S.FAILED, error=interrupt), evaluation(NODES[1], S.FAILED, error=boom)])
    with pytest.raises(RunFailed) as caught:
        report.raise_for_errors()
    group = caught.value.__cause__
    assert isinstance(group, BaseExceptionGroup) and list(group.exceptions) == [interrupt, boom]
    assert "Source#0 failed at generation (0,): KeyboardInterrupt" in str(caught.value)


# ---------------------------------------------------------------------------------------- text
def test_summary_table_and_repr():
    raws = [
        evaluation(NODES[0], started=0.0, ended=0.002),
        evaluation(NODES[1], S.FAILED, started=0.002, ended=0.0025, error=ValueError("x")),
        evaluation(NODES[1], started=0.003, ended=0.0035),
    ]
    report = record_all(raws, max_records=2)
    assert report.summary().splitlines() == [
        "run completed in 100.00 s: 3 evaluations, 1 failure (1 record dropped)",
        "node      evaluations  failures  mean time",
        "Source#0            1         0     2.0 ms",
        "Add#0               2         1   500.0 us",
        "total               3         1",
    ]
    assert repr(report) == "<RunReport completed: 3 evaluations, 1 failure, 2 nodes>"
    assert repr(record_all([])) == "<RunReport completed: 0 evaluations, 0 failures, 0 nodes>"


def test_summary_shows_skips_when_there_were_some():
    from flowno_core import FlowHDL, SkipGeneration, node

    @node
    async def Closed() -> int:
        raise SkipGeneration("closed today")

    @node
    async def After(value: int) -> int:
        return value

    with FlowHDL() as f:
        f.closed = Closed()
        f.after = After(f.closed)
    report = f.run_until_complete()
    lines = report.summary().splitlines()
    assert lines[0].endswith("2 evaluations, 0 failures, 2 skipped")
    assert lines[1].split() == ["node", "evaluations", "failures", "skipped", "mean", "time"]
    assert lines[-1].split() == ["total", "2", "0", "2"]
    assert repr(f.after.get_data()).startswith("<skipped: Closed#")
    assert "skipped generation (0,): closed today>" in repr(f.after.get_data())
