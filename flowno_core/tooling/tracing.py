"""Trace a flow's runs: Chrome/Perfetto trace-event JSON and a plain-text timeline.

Theory of operation
-------------------
``TraceRecorder`` is a flow instrument that joins whatever instrument is active (``joins_active``),
so it can be used with ``--progress`` or a dashboard. It builds two things, both timed on the
flow's loop clock (in virtual time a run gives the same trace every time): trace events in the
Chrome trace-event format (Perfetto, chrome://tracing and speedscope open it), and the moments of
a plain-text timeline.

* A flow is a process (``pid``) and each of its nodes a thread (``tid``) named by ``node_label``
  (``bad_avg (Average)``), in the flow's node order; ``tid`` 0 is the flow's run track, one slice
  per run. Hidden ``Constant`` nodes (``Add(1, f.x)``'s 1) are left out.
* Live, in the hooks: an instant event per chunk and per final value published, remembered by
  (node, generation); the evaluation that reads it draws a flow arrow (an ``s``/``f`` pair with one
  id) from that publish to itself: a final value when the consumer gathers its inputs
  (``on_defaulted_inputs_set``: each connection's ``consumed`` generation), a chunk when a stream
  hands it over (``on_stream_next``). An evaluation's beginning (status Queued -> Executing) is a
  timeline moment.
* When a run ends, one complete (``X``) slice per evaluation record of the run's report
  (``flow.last_report``), with generation, status, attempts and error in ``args``: the report is
  the one account of what each evaluation did, so trace and report agree. (A report that kept only
  its latest ``report_max_records`` records gives slices for those.)
* The timeline puts the ends of evaluations among the live moments in the order they happened:
  every live moment notes how many evaluations had ended (``ReportRecorder.recorded``), and record
  number n ended before the first moment that saw more than n ends. An evaluation began at the
  last beginning of its node that saw at most n ends, which gives beginnings their generation.

Timestamps are microseconds since the first run of their time base (the real monotonic clock is
one, each virtual clock another). The recorder reads the runtime's records (``node._runtime``,
``flow._run``) from inside the package; nothing here is on the runtime's path when no instrument
is active.
"""

from __future__ import annotations

import json
import os
import reprlib
from typing import Any, NamedTuple

from .._graph.control.report_details import one_line
from .._graph.description.draft import Constant
from .._graph.description.naming import node_label
from .._graph.runtime.instruments import FlowInstrument
from .._graph.runtime.streams import ValueStream
from .._graph.runtime.task_status import NodeTaskStatus

_QUEUED, _EXECUTING = NodeTaskStatus.Queued, NodeTaskStatus.Executing
_SHORT = reprlib.Repr()  # a value in an event: its repr, cut short
_SHORT.maxstring = _SHORT.maxother = 60
RUN_TRACK = 0  # the tid of a flow's run track


class _Moment(NamedTuple):
    """One line of the timeline: seconds since the time base's first run, who, what."""

    seconds: float
    who: str
    what: str


class _FlowTrace:
    """What the recorder knows of one flow: its process, time base and the run in progress."""

    def __init__(self, flow: Any, pid: int, origin: float) -> None:
        self.flow = flow
        self.pid = pid
        self.name = repr(flow).strip("<>")
        self.origin = origin
        self.run_started = 0.0
        self.live: list[_Live] = []  # the moments of the run in progress, in order

    def now(self) -> float:
        return float(self.flow.event_loop.time())

    def ends_so_far(self) -> int:
        return int(self.flow._run.recorder.recorded)

    def micros(self, seconds: float) -> float:
        return round((seconds - self.origin) * 1e6, 3)


class _Track(NamedTuple):
    flow: _FlowTrace
    tid: int
    label: str


class _Live:
    """A moment seen as it happened; ``ends`` evaluations of the run had ended then."""

    __slots__ = ("ends", "seconds", "track", "what", "begins")

    def __init__(self, ends: int, seconds: float, track: _Track, what: str, begins: bool = False) -> None:
        self.ends = ends
        self.seconds = seconds
        self.track = track
        self.what = what
        self.begins = begins  # an evaluation's beginning (its ``what`` gets the generation later)


class TraceRecorder(FlowInstrument):
    """Record every run inside the ``with`` block; write Chrome/Perfetto JSON to ``path`` on exit.

    Open the file at https://ui.perfetto.dev (or chrome://tracing): one track per node, a slice per
    evaluation, an instant per chunk and value, arrows from each publish to the evaluations that
    read it. ``timeline()`` gives the same story as text.

    Example::

        with TraceRecorder("trace.json") as trace:
            f.run_until_complete()
        print("\\n".join(trace.timeline()[:5]))

    Attributes:
        path: where ``__exit__`` writes the trace (None: keep it in memory; see ``to_dict``).
        events: the trace events so far (plain dicts, the JSON's ``traceEvents``).
    """

    joins_active = True

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.path = path
        self.events: list[dict[str, Any]] = []
        self._flows: dict[int, _FlowTrace] = {}
        self._tracks: dict[int, _Track] = {}  # by id(node)
        self._origins: dict[object, float] = {}  # by time base
        self._published: dict[tuple[int, Any], tuple[_Track, float]] = {}  # (id(node), gen) -> where, when
        self._arrows = 0
        self._moments: list[_Moment] = []

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        if self.path is not None:
            self.write(self.path)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON-ready data (the object form of the trace-event format)."""
        return {"traceEvents": self.events, "displayTimeUnit": "ms", "otherData": {"generator": "flowno_core"}}

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to ``path`` as JSON."""
        text = json.dumps(self.to_dict())
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)

    def timeline(self) -> list[str]:
        """The finished runs as lines ``   0.300s  total (Total)  gen (0,)  succeeded``, in order."""
        width = max((len(moment.who) for moment in self._moments), default=0)
        return [f"{m.seconds:8.3f}s  {m.who:<{width}}  {m.what}" for m in self._moments]

    # ------------------------------------------------------------------ hooks
    def on_flow_start(self, flow: Any) -> None:
        trace = self._flows.get(id(flow))
        if trace is None:
            clock = flow.event_loop.clock
            base = clock if getattr(clock, "is_virtual", False) else "monotonic"
            origin = self._origins.setdefault(base, float(flow.event_loop.time()))
            trace = self._flows[id(flow)] = _FlowTrace(flow, len(self._flows) + 1, origin)
            self._metadata("process_name", trace.pid, 0, f"flow {trace.name}")
            self._thread(trace, RUN_TRACK, "run")
        for index, node in enumerate(flow.nodes, start=1):
            if id(node) not in self._tracks and not isinstance(node._draft_node, Constant):
                self._tracks[id(node)] = _Track(trace, index, node_label(node))
                self._thread(trace, index, node_label(node))
        trace.run_started = trace.now()
        trace.live = []
        self._moments.append(_Moment(trace.run_started - trace.origin, trace.name, "run started"))

    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None:
        if new_status.__class__ is _EXECUTING and old_status.__class__ is _QUEUED:
            track = self._tracks.get(id(node))
            if track is not None:
                trace = track.flow
                trace.live.append(_Live(trace.ends_so_far(), trace.now(), track, "started", begins=True))

    def on_node_emitted_data(self, flow: Any, node: Any, data: tuple[Any, ...] | None, run_level: int) -> None:
        track = self._tracks.get(id(node))
        if track is None:
            return
        trace = track.flow
        now = trace.now()
        gen = node.generation
        kind = "chunk" if run_level else "value"
        value = _SHORT.repr(data[0] if data is not None and len(data) == 1 else data)
        self._published[(id(node), gen)] = (track, now)
        self.events.append({
            "ph": "i", "s": "t", "name": f"{kind} {gen}", "cat": kind, "pid": trace.pid, "tid": track.tid,
            "ts": trace.micros(now), "args": {"generation": str(gen), "value": value},
        })
        trace.live.append(_Live(trace.ends_so_far(), now, track, f"gen {gen}  {kind}: {value}"))

    def on_defaulted_inputs_set(self, flow: Any, node: Any, defaulted_inputs: list[int]) -> None:
        """(Called when an evaluation has gathered its inputs: arrows from the final values it read.)"""
        track = self._tracks.get(id(node))
        if track is None:
            return
        now = track.flow.now()
        for conn in node._runtime.inputs:
            if not conn.streaming and conn.consumed is not None:
                self._arrow(conn.producer.node, conn.consumed, track, now)

    def on_stream_next(self, stream: Any, data: Any) -> None:
        conn = stream._conn
        track = self._tracks.get(id(conn.consumer.node))
        if track is None:
            return
        producer = conn.producer
        gen = producer.data.final_gen if isinstance(stream, ValueStream) else (conn.lap, conn.next_index - 1)
        self._arrow(producer.node, gen, track, track.flow.now())

    def on_flow_end(self, flow: Any) -> None:
        trace = self._flows[id(flow)]
        report = flow.last_report
        ending = f"run {report.outcome.value.replace('_', ' ')}"
        run_args = {"outcome": report.outcome.value}
        if report.error is not None:
            run_args["error"] = one_line(report.error)
            ending += f": {run_args['error']}"
        self._slice(trace, RUN_TRACK, ending, trace.run_started, report.ended, run_args)
        records = []
        for number, record in enumerate(report.evaluations, start=report.truncated):
            track = self._tracks.get(id(record.node))
            if track is None:
                continue
            args = {"node": track.label, "generation": str(record.generation), "status": record.status.value,
                    "attempts": record.attempts}
            if record.error is not None:
                args["error"] = one_line(record.error)
            self._slice(trace, track.tid, f"gen {record.generation}", record.started, record.ended, args)
            records.append((number, record, track))
        self._merge_timeline(trace, records)
        self._moments.append(_Moment(report.ended - trace.origin, trace.name, ending))

    # ------------------------------------------------------------------ helpers
    def _metadata(self, kind: str, pid: int, tid: int, name: str) -> None:
        self.events.append({"ph": "M", "name": kind, "pid": pid, "tid": tid, "args": {"name": name}})

    def _thread(self, trace: _FlowTrace, tid: int, label: str) -> None:
        self._metadata("thread_name", trace.pid, tid, label)
        self.events.append({"ph": "M", "name": "thread_sort_index", "pid": trace.pid, "tid": tid, "args": {"sort_index": tid}})

    def _slice(self, trace: _FlowTrace, tid: int, name: str, started: float, ended: float, args: dict[str, Any]) -> None:
        ts = trace.micros(started)
        self.events.append({
            "ph": "X", "name": name, "cat": args.get("status", "run"), "pid": trace.pid, "tid": tid,
            "ts": ts, "dur": max(0.0, round(trace.micros(ended) - ts, 3)), "args": args,
        })

    def _arrow(self, producer: Any, gen: Any, reader: _Track, now: float) -> None:
        """A flow arrow from where ``producer`` published ``gen`` to the evaluation of ``reader``."""
        published = self._published.get((id(producer), gen))
        if published is None:
            return  # a hidden constant, or published before the recording began
        source, when = published
        self._arrows += 1
        common = {"name": "data", "cat": "data", "id": self._arrows}
        self.events.append({"ph": "s", "pid": source.flow.pid, "tid": source.tid, "ts": source.flow.micros(when), **common})
        self.events.append({"ph": "f", "bp": "e", "pid": reader.flow.pid, "tid": reader.tid, "ts": reader.flow.micros(now), **common})

    def _merge_timeline(self, trace: _FlowTrace, records: list[tuple[int, Any, _Track]]) -> None:
        """Add the run's moments to the timeline: live ones, and each record's end where it happened."""
        live = trace.live
        begins: dict[int, list[_Live]] = {}
        for moment in live:
            if moment.begins:
                begins.setdefault(moment.track.tid, []).append(moment)
        claimed: dict[int, int] = {}  # tid -> how many of its beginnings are behind us
        for number, record, track in records:  # (in the order they ended: per node, in order too)
            own = begins.get(track.tid, [])
            position = claimed.get(track.tid, 0)
            while position < len(own) and own[position].ends <= number:
                position += 1
            if position > claimed.get(track.tid, 0):
                own[position - 1].what = f"gen {record.generation}  started"
            claimed[track.tid] = position
        origin = trace.origin
        pending = iter(records)
        upcoming = next(pending, None)
        for moment in live:
            while upcoming is not None and upcoming[0] < moment.ends:
                self._moments.append(_end_moment(upcoming, origin))
                upcoming = next(pending, None)
            self._moments.append(_Moment(moment.seconds - origin, moment.track.label, moment.what))
        while upcoming is not None:
            self._moments.append(_end_moment(upcoming, origin))
            upcoming = next(pending, None)
        trace.live = []


def _end_moment(entry: tuple[int, Any, _Track], origin: float) -> _Moment:
    _, record, track = entry
    what = f"gen {record.generation}  {record.status.value}"
    if record.attempts > 1:
        what += f" after {record.attempts} attempts"
    if record.error is not None:
        what += f": {one_line(record.error)}"
    return _Moment(record.ended - origin, track.label, what)
