"""A running flow's progress on one line: evaluations, chunks per second, the generation reached.

Theory of operation: ``ProgressDisplay`` is a flow instrument that joins the active one
(``joins_active``), so it works next to a trace or a dashboard. Its hooks count, per flow, the
evaluations that begin (status Queued -> Executing) and the chunks published, and keep the
furthest generation published (``cmp_generation``: a final value outranks its own chunks; hidden
constants, always at ``(0,)``, do not count). After
counting, a hook redraws the line if ``REFRESH_SECONDS`` of *real* time (``real_clock``) passed
since the last drawing, so the line changes at most four times a second however fast the flow
runs. Rates and durations are on the flow's loop clock: in virtual time they are the same on every
run. When a run ends the line is drawn a last time with the report's totals, and a newline.

The line goes to tqdm when it is installed (``pip install "flowno-core[progress]"``): tqdm knows
terminal widths and notebooks and keeps its line apart from other output. Without it a plain writer
redraws one line with a carriage return. Unused, it costs nothing: ``run_until_complete`` installs
it only with ``progress=True`` (``run --progress`` on the command line).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any, Literal, Protocol, TextIO

from .._graph.description.draft import Constant
from .._graph.rules.generations import Generation, cmp_generation
from .._graph.runtime.instruments import FlowInstrument
from .._graph.runtime.task_status import NodeTaskStatus

#: least real time between two drawings of the line
REFRESH_SECONDS = 0.25
_QUEUED, _EXECUTING = NodeTaskStatus.Queued, NodeTaskStatus.Executing


class _Tally:
    """One flow's run in progress, as counted so far."""

    __slots__ = ("name", "started", "evaluations", "chunks", "furthest", "line")

    def __init__(self, name: str, started: float, line: _Line) -> None:
        self.name = name
        self.started = started
        self.evaluations = 0
        self.chunks = 0
        self.furthest: Generation = None
        self.line = line

    def text(self, seconds: float) -> str:
        """``12 evaluations, 340 chunks (85.0/s), generation (3, 2)``."""
        rate = f"{self.chunks / seconds:.1f}/s" if seconds > 0 else "-/s"
        generation = "none yet" if self.furthest is None else str(self.furthest)
        return f"{_plural(self.evaluations, 'evaluation')}, {_plural(self.chunks, 'chunk')} ({rate}), generation {generation}"


class _Line(Protocol):
    def show(self, tally: _Tally, seconds: float) -> None: ...
    def finish(self, text: str) -> None: ...


class _PlainLine:
    """Redraws one line of ``stream`` with a carriage return."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.width = 0

    def show(self, tally: _Tally, seconds: float) -> None:
        self._draw(f"flow {tally.name}: {tally.text(seconds)}, {seconds:.2f}s")

    def finish(self, text: str) -> None:
        self._draw(text)
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, text: str) -> None:
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)


class _TqdmLine:
    """A tqdm counter of evaluations (its rate per second of real time), with the chunks and the
    generation as its postfix; tqdm shows nothing before ``REFRESH_SECONDS``, so a short run shows
    only its last line."""

    def __init__(self, stream: TextIO, name: str) -> None:
        tqdm = import_module("tqdm.auto").tqdm  # (an optional extra, without type stubs)
        self.stream = stream
        self.bar = tqdm(
            desc=f"flow {name}", unit=" evaluations", file=stream, leave=False, mininterval=0, delay=REFRESH_SECONDS
        )

    def show(self, tally: _Tally, seconds: float) -> None:
        rate = f"{tally.chunks / seconds:.1f}/s" if seconds > 0 else "-/s"
        self.bar.set_postfix_str(f"{_plural(tally.chunks, 'chunk')} ({rate}), generation {tally.furthest}", refresh=False)
        self.bar.update(tally.evaluations - self.bar.n)

    def finish(self, text: str) -> None:
        self.bar.close()
        self.stream.write(text + "\n")
        self.stream.flush()


class ProgressDisplay(FlowInstrument):
    """Show each run's progress on one line of ``stream`` (stderr by default) while it runs.

    ``style``: ``"auto"`` (tqdm when installed, else plain), ``"tqdm"`` or ``"plain"``.
    ``real_clock``: the clock that spaces the drawings (``time.monotonic``).

    Example::

        with ProgressDisplay():               # what run_until_complete(progress=True) does
            f.run_until_complete()
        # stderr, at the end of the run:
        # flow Flow#0 completed in 4.000s: 12 evaluations, 340 chunks (85.0/s), generation (3,)
    """

    joins_active = True

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        style: Literal["auto", "tqdm", "plain"] = "auto",
        real_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if style not in ("auto", "tqdm", "plain"):
            raise ValueError(f"ProgressDisplay(style={style!r}): use 'auto', 'tqdm' or 'plain'")
        self.stream = stream
        self.style = style
        self.real_clock = real_clock
        self._tallies: dict[int, _Tally] = {}  # by id(flow): the runs in progress
        self._next_drawing = 0.0

    def on_flow_start(self, flow: Any) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        name = repr(flow).strip("<>")
        line: _Line = _TqdmLine(stream, name) if self._uses_tqdm() else _PlainLine(stream)
        self._tallies[id(flow)] = _Tally(name, flow.event_loop.time(), line)
        self._next_drawing = self.real_clock() + REFRESH_SECONDS

    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None:
        if new_status.__class__ is _EXECUTING and old_status.__class__ is _QUEUED:
            tally = self._tallies[id(flow)]
            tally.evaluations += 1
            self._maybe_draw(flow, tally)

    def on_node_emitted_data(self, flow: Any, node: Any, data: Any, run_level: int) -> None:
        tally = self._tallies[id(flow)]
        if run_level:
            tally.chunks += 1
        generation = node.generation
        if cmp_generation(generation, tally.furthest) > 0 and not isinstance(node._draft_node, Constant):
            tally.furthest = generation
        self._maybe_draw(flow, tally)

    def on_flow_end(self, flow: Any) -> None:
        tally = self._tallies.pop(id(flow))
        report = flow.last_report
        tally.evaluations = report.totals.evaluations  # (the report's count: evaluations that ended)
        seconds = report.duration
        outcome = report.outcome.value.replace("_", " ")
        tally.line.finish(f"flow {tally.name} {outcome} in {seconds:.3f}s: {tally.text(seconds)}")

    def _maybe_draw(self, flow: Any, tally: _Tally) -> None:
        now = self.real_clock()
        if now >= self._next_drawing:
            self._next_drawing = now + REFRESH_SECONDS
            tally.line.show(tally, flow.event_loop.time() - tally.started)

    def _uses_tqdm(self) -> bool:
        if self.style != "auto":
            return self.style == "tqdm"
        return find_spec("tqdm") is not None


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
