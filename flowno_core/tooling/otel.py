"""OpenTelemetry spans for a flow's runs: one span per run, a child span per node evaluation.

Theory of operation
-------------------
``OtelInstrument`` is a flow instrument that joins the active one (``joins_active``). A run's span
starts in ``on_flow_start`` and ends in ``on_flow_end``; its children are made from the run
report's records (``_feed.EvaluationFeed``), which hold every evaluation that ended, whatever
path it took (plain, retried, timed out, cached, resumed), with its status, attempts, generation
and error. The instrument reads the new records whenever a node's status changes and once more when
the run ends, so each evaluation's span is made shortly after the evaluation ended, with the start
and end times it really had (the loop clock's times, placed on the wall clock from the run's
start). Spans are named by ``node_label`` (``bad_avg (Average)``); the hidden ``Constant`` nodes
that feed literal arguments get none.

``opentelemetry`` is imported when an ``OtelInstrument`` is made, never by importing flowno_core
(install the ``otel`` extra: ``pip install flowno-core[otel]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._graph.description.draft import Constant
from .._graph.description.naming import node_label
from .._graph.runtime.instruments import FlowInstrument
from .._version import __version__
from ._feed import Evaluation, EvaluationFeed

#: the evaluation statuses that make a span's status ERROR
_FAILURES = frozenset(("failed", "timed_out"))
#: the run outcomes that make the run's span status ERROR
_BAD_OUTCOMES = frozenset(("failed", "deadlocked", "timed_out"))


def _nanos(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


@dataclass
class _RunSpan:
    span: Any
    context: Any
    feed: EvaluationFeed
    evaluations: int = 0  # the child spans made


class OtelInstrument(FlowInstrument):
    """Report each flow run, and each node evaluation in it, as OpenTelemetry spans.

    Args:
        tracer_provider: where the spans go; None: OpenTelemetry's global tracer provider.

    The run's span is named ``flow run`` (attributes ``flowno.outcome``, ``flowno.nodes`` and
    ``flowno.evaluations``, the number of its child spans); each evaluation's span is a child named by the node's
    label (``bad_avg (Average)``) with the attributes ``flowno.generation`` (the generation it
    computed, as a list of ints), ``flowno.status`` (succeeded, failed, skipped, cancelled,
    timed_out), ``flowno.attempts`` and ``flowno.node.class``. A failed or timed-out evaluation
    records its exception and has status ERROR; so has a run that raised or had failures.

    Example::

        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        with OtelInstrument(provider):
            f.run_until_complete()
    """

    joins_active = True

    def __init__(self, tracer_provider: Any = None) -> None:
        super().__init__()
        try:
            from opentelemetry import trace
            from opentelemetry.trace import Status, StatusCode
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(
                "OtelInstrument needs OpenTelemetry: pip install 'flowno-core[otel]' "
                "(or opentelemetry-api and opentelemetry-sdk)"
            ) from error
        self._trace = trace
        self._status, self._codes = Status, StatusCode
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self._tracer = provider.get_tracer("flowno_core", __version__)
        self._runs: dict[int, _RunSpan] = {}

    def on_flow_start(self, flow: Any) -> None:
        feed = EvaluationFeed()
        feed.read(flow)  # (learns the run's start)
        shown = sum(not isinstance(state.draft, Constant) for state in flow._states)
        span = self._tracer.start_span(
            "flow run", start_time=_nanos(feed.wall_start), attributes={"flowno.flow": repr(flow), "flowno.nodes": shown}
        )
        self._runs[id(flow)] = _RunSpan(span, self._trace.set_span_in_context(span), feed)

    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None:
        run = self._runs.get(id(flow))
        if run is not None:
            self._export(run, run.feed.read(flow))

    def on_flow_end(self, flow: Any) -> None:
        run = self._runs.pop(id(flow), None)
        if run is None:
            return
        self._export(run, run.feed.read(flow) + run.feed.finish(flow))
        report = flow.last_report
        span = run.span
        outcome = str(report.outcome)
        span.set_attribute("flowno.outcome", outcome)
        span.set_attribute("flowno.evaluations", run.evaluations)
        failures = report.totals.failures
        if report.error is not None:
            span.record_exception(report.error)
            span.set_status(self._status(self._codes.ERROR, f"{type(report.error).__name__}: {report.error}"))
        elif failures or outcome in _BAD_OUTCOMES:
            span.set_status(self._status(self._codes.ERROR, f"the run ended {outcome} with {failures} failure(s)"))
        span.end(end_time=_nanos(run.feed.wall_time(report.ended)))

    def _export(self, run: _RunSpan, records: list[Evaluation]) -> None:
        wall = run.feed.wall_time
        for record in records:
            node = record.node
            draft = getattr(node, "_draft_node", node)
            if isinstance(draft, Constant):
                continue
            run.evaluations += 1
            attributes: dict[str, Any] = {
                "flowno.status": record.status,
                "flowno.attempts": record.attempts,
                "flowno.node.class": type(draft).__name__,
            }
            if record.generation is not None:
                attributes["flowno.generation"] = list(record.generation)
            span = self._tracer.start_span(
                node_label(node), context=run.context, start_time=_nanos(wall(record.started)), attributes=attributes
            )
            error = record.error
            if record.status in _FAILURES:
                if error is not None:
                    span.record_exception(error, timestamp=_nanos(wall(record.ended)))
                text = f"{type(error).__name__}: {error}" if error is not None else record.status
                span.set_status(self._status(self._codes.ERROR, text))
            elif error is not None:  # a skip: why it skipped
                span.set_attribute("flowno.reason", f"{type(error).__name__}: {error}")
            span.end(end_time=_nanos(wall(record.ended)))
