"""A run's evaluation records, read while the run goes (the dashboard and OpenTelemetry spans).

Theory of operation: ``EvaluationFeed`` reads the recorder of the run report
(``control.report.ReportRecorder``): every evaluation that ends is one record there, whatever path
it took (plain, retried, timed out, served from the node cache, resumed), with its node,
generation, status, start, end, attempts and error.
The feed remembers the number of the first record it has not read and decodes only the newer
ones, so reading costs nothing per evaluation when nobody reads. A run ends by handing its records
to its report (``recorder.finish``) before ``on_flow_end``: ``finish`` reads what is left from the
report. Invariant: a feed is only read on the thread that runs its flow.
"""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from .._graph.control.report import WIDTH, decode


class Evaluation(NamedTuple):
    """One ended evaluation, as the run report recorded it (times on the loop clock)."""

    node: Any
    generation: tuple[int, ...] | None
    status: str  # an ``EvaluationStatus`` word: succeeded, failed, skipped, cancelled, timed_out
    started: float
    ended: float
    attempts: int
    error: BaseException | None


class EvaluationFeed:
    """The evaluations of a flow's runs, read as they end (see the module docstring)."""

    __slots__ = ("_recorder", "_next", "_nodes", "loop_start", "wall_start")

    def __init__(self) -> None:
        self._recorder: Any = None
        self._next = 0  # the number of the first record not read yet
        self._nodes: list[Any] = []
        self.loop_start = 0.0  # the run's start on the loop clock ...
        self.wall_start = 0.0  # ... and on the wall clock (``time.time()``)

    def read(self, flow: Any) -> list[Evaluation]:
        """The records of evaluations that ended since the last read (of the running run)."""
        recorder = flow._run.recorder
        if recorder is None:
            return []
        if recorder is not self._recorder:  # a new run: a new recorder, numbered from 0
            self._recorder = recorder
            self._next = 0
            self._nodes = recorder.nodes
            self.loop_start, self.wall_start = recorder.started, recorder.wall_start
        columns = recorder.columns
        if self._next - recorder._first >= len(columns) // WIDTH:
            return []  # (the common case: nothing new)
        return self._take(columns, recorder.unusual, recorder._first)

    def finish(self, flow: Any) -> list[Evaluation]:
        """In ``on_flow_end``: the records the last read did not see, from the run's report."""
        report = flow.last_report
        if report is None or self._recorder is None:
            return []
        columns, unusual, first = report._kept
        self._recorder = None
        return self._take(columns, unusual, first)

    def wall_time(self, loop_time: float) -> float:
        """A loop-clock time of the current run as wall-clock seconds since the epoch."""
        return self.wall_start + (loop_time - self.loop_start)

    def _take(self, columns: list[Any], unusual: dict[int, Any], first: int) -> list[Evaluation]:
        start = max(0, self._next - first)  # (records dropped from a long run's report are gone)
        count = len(columns) // WIDTH
        self._next = first + count
        if start >= count:
            return []
        nodes = self._nodes
        return [
            Evaluation(nodes[cast(int, key)], generation, status, started, ended, attempts, error)
            for key, generation, status, started, ended, attempts, error in decode(
                columns[start * WIDTH :], unusual, first + start
            )
        ]
