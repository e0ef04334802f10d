"""OpenTelemetry spans from a flow's runs, checked with the SDK's in-memory exporter.

Flows run in virtual time, so every span's start and duration are exact."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.sdk import trace as trace_sdk  # (the test extra installs opentelemetry-sdk)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from flowno_core import FlowHDL, VirtualClock, node, sleep
from flowno_core.errors import TerminateLimitReached
from flowno_core.instrumentation import FlowInstrument
from flowno_core.tooling.otel import OtelInstrument

SECOND = 1_000_000_000


@pytest.fixture
def spans():
    """(provider, exporter): spans go to the exporter as they end."""
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@node
async def Numbers(count: int):
    for index in range(count):
        await sleep(1.0)
        yield index


@node(stream_in=["values"])
async def Total(values):
    total = 0
    async for value in values:
        total += value
    return total


@node
async def Average(total: int, count: int) -> float:
    await sleep(0.5)
    if count == 0:
        raise ZeroDivisionError("no values to average")
    return total / count


def averaging_flow(count: int):
    with FlowHDL(clock=VirtualClock()) as f:
        f.source = Numbers(count)
        f.total = Total(f.source)
        f.bad_avg = Average(f.total, count)
    return f


def test_a_run_span_with_one_child_span_per_evaluation_named_by_label(spans):
    provider, exporter = spans
    f = averaging_flow(3)
    with OtelInstrument(provider):
        f.run_until_complete()
    finished = exporter.get_finished_spans()
    [run] = [span for span in finished if span.name == "flow run"]
    children = [span for span in finished if span is not run]
    assert [span.name for span in children] == ["source (Numbers)", "total (Total)", "bad_avg (Average)"]
    for span in children:
        assert span.parent is not None and span.parent.span_id == run.context.span_id
        assert span.context.trace_id == run.context.trace_id
        assert dict(span.attributes)["flowno.status"] == "succeeded"
        assert dict(span.attributes)["flowno.attempts"] == 1
        assert tuple(span.attributes["flowno.generation"]) == (0,)
        assert span.status.status_code is StatusCode.UNSET
    source, total, average = children
    assert source.attributes["flowno.node.class"] == "Numbers"
    assert source.end_time - source.start_time == 3 * SECOND  # virtual time: exact
    assert average.end_time - average.start_time == SECOND // 2
    assert run.start_time <= source.start_time and average.end_time <= run.end_time
    assert run.end_time - run.start_time == 3 * SECOND + SECOND // 2
    assert run.attributes["flowno.outcome"] == "completed" and run.attributes["flowno.evaluations"] == 3
    assert run.attributes["flowno.nodes"] == 3  # (the hidden Constant(3) gets no span)
    assert run.status.status_code is StatusCode.UNSET


def test_a_failed_evaluation_records_its_error_with_status_error(spans):
    provider, exporter = spans
    f = averaging_flow(0)
    with OtelInstrument(provider), pytest.raises(ZeroDivisionError):
        f.run_until_complete()
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    failed = by_name["bad_avg (Average)"]
    assert failed.attributes["flowno.status"] == "failed"
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ZeroDivisionError: no values to average"
    [event] = failed.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ZeroDivisionError"
    assert event.attributes["exception.message"] == "no values to average"
    run = by_name["flow run"]
    assert run.status.status_code is StatusCode.ERROR and run.attributes["flowno.outcome"] == "failed"
    assert [event.attributes["exception.type"] for event in run.events] == ["ZeroDivisionError"]


def test_retries_count_as_attempts_of_one_evaluation(spans):
    provider, exporter = spans
    calls = []

    @node(retries=2, retry_delay=1.0)
    async def Flaky(x: int) -> int:
        calls.append(x)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return x

    with FlowHDL(clock=VirtualClock()) as f:
        f.flaky = Flaky(7)
    with OtelInstrument(provider):
        f.run_until_complete()
    [span] = [span for span in exporter.get_finished_spans() if span.name == "flaky (Flaky)"]
    assert span.attributes["flowno.attempts"] == 3 and span.attributes["flowno.status"] == "succeeded"
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time - span.start_time >= 2 * SECOND  # the retry delays are inside the evaluation


def test_every_generation_of_a_cycle_and_every_run_gets_spans(spans):
    provider, exporter = spans

    @node
    async def Inc(x: int = 0) -> int:
        await sleep(0.25)
        return x + 1

    with FlowHDL(clock=VirtualClock()) as f:
        f.inc = Inc(f.inc)
    with OtelInstrument(provider):
        for limit in (2, 4):
            with pytest.raises(TerminateLimitReached):
                f.run_until_complete(stop_at_node_generation=(limit,))
    finished = exporter.get_finished_spans()
    runs = [span for span in finished if span.name == "flow run"]
    assert [run.attributes["flowno.outcome"] for run in runs] == ["limit_reached", "limit_reached"]
    generations = [
        [tuple(span.attributes["flowno.generation"]) for span in finished
         if span.name == "inc (Inc)" and span.parent.span_id == run.context.span_id]
        for run in runs
    ]
    assert generations == [[(0,), (1,), (2,)], [(3,), (4,)]]


def test_it_joins_the_active_instrument(spans):
    provider, exporter = spans

    class Ends(FlowInstrument):
        def __init__(self):
            super().__init__()
            self.ends = 0

        def on_flow_end(self, flow):
            self.ends += 1

    f = averaging_flow(2)
    with Ends() as ends, OtelInstrument(provider):
        f.run_until_complete()
    assert ends.ends == 1
    assert len(exporter.get_finished_spans()) == 4


def test_the_global_tracer_provider_is_used_by_default(spans):
    provider, exporter = spans
    from opentelemetry import trace

    original = trace.get_tracer_provider
    trace.get_tracer_provider = lambda: provider  # (set_tracer_provider may be called once per process)
    try:
        instrument = OtelInstrument()
    finally:
        trace.get_tracer_provider = original
    with instrument:
        averaging_flow(1).run_until_complete()
    assert "flow run" in [span.name for span in exporter.get_finished_spans()]


def test_opentelemetry_is_imported_only_when_an_instrument_is_made():
    code = (
        "import sys, flowno_core, flowno_core.tooling.otel, flowno_core.tooling.dashboard\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
        "flowno_core.tooling.otel.OtelInstrument()\n"
        "print('opentelemetry.trace' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.splitlines() == ["[]", "True"]
