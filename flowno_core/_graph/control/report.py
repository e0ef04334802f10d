"""Run reports: what every evaluation of a run did, per node and in total (issue 13).

Theory of operation
-------------------
The runtime owns one ``ReportRecorder`` per run. Every evaluation that ends costs the run four
numbers in the recorder's ``columns`` (node key, final generation, start, end on the loop clock);
the evaluator extends the list itself for a plain success and calls ``add`` for anything else,
which also keeps ``(generation, status, attempts, error)`` by record number in ``unusual``. No
object is built per evaluation, no clock but the loop's is read, and no traceback is formatted.
``finish`` hands the columns, with how the run ended, to a ``RunReport``, which decodes them into
*raw records* (``report_details.RawRecord`` tuples) when it is first read. Everything a report
builds on reading lives in ``report_details``, loaded then; this module is small enough to load
with flowno_core, so a process's first run pays for neither.

The report builds everything else on first read and keeps it: ``evaluations`` (frozen
``EvaluationRecord`` objects, each formatting its traceback only when asked), ``nodes`` (one
``NodeSummary`` per node, in the order the nodes first ended an evaluation), ``totals`` and
``errors``. Summaries are sums over raw records, computed a node at a time (``_Tally.absorb``).

Memory is bounded by ``max_records`` (``DEFAULT_MAX_RECORDS`` unless the runtime says otherwise;
``None``: no bound): a report keeps the *latest* ``max_records`` records. When the columns reach
``max_records`` plus a slack of a quarter of it (``bound``), ``drop_oldest`` folds the oldest
records beyond ``max_records`` into running per-node tallies and drops them (the runtime asks when
its start counter says the bound may be near: ``Run.trim_report``). So recording stays one list
extension in every run, the folding is paid in batches (and only by runs
longer than the bound), and summaries and totals stay exact: the report computes them from the
tallies plus the records it kept. ``truncated`` counts the dropped records.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ...errors import RunFailed
from ..rules.generations import Generation

if TYPE_CHECKING:
    from datetime import datetime

    from .report_details import EvaluationRecord, NodeSummary, RawRecord, RunOutcome, RunTotals, _Tally

#: records a recorder keeps unless told otherwise (``report_max_records``; about 10 MB at this size)
DEFAULT_MAX_RECORDS = 100_000


def _details() -> ModuleType:
    """``report_details``, loaded on first use."""
    from . import report_details

    return report_details


# ---------------------------------------------------------------------------------------- recorder
#: ``columns`` holds four numbers per record: node key, final generation (-1: see ``unusual``),
#: started, ended
WIDTH = 4


class ReportRecorder:
    """Collects one run's records (see the module docstring); the runtime owns it for the run.

    A record costs the run four numbers in the flat list ``columns``: the node's key (its index in
    ``nodes``), the final generation it computed, and its start and end on the loop clock. That is
    what a plain successful evaluation is: one ``list.extend`` of a 4-tuple that is freed at once
    (measured: a kept 7-tuple per evaluation, or an ``array('d')``, cost two to three times as
    much). Any other record (failed, skipped, cancelled, retried, served from the cache, or of a
    generation inside a lap) also keeps ``(generation, status, attempts, error)`` in ``unusual``,
    by record number, with -1 in the generation column.
    """

    WIDTH = WIDTH

    __slots__ = (
        "started", "wall_start", "nodes", "max_records", "columns", "bound", "unusual", "_first", "_keys",
        "_tallies", "_dropped",
    )

    def __init__(
        self,
        started: float,
        wall_start: float,
        *,
        nodes: Sequence[object] | None = None,
        max_records: int | None = DEFAULT_MAX_RECORDS,
    ) -> None:
        """``started``: the run's start on the loop clock; ``wall_start``: the same moment on the wall
        clock (``time.time()``); ``nodes``: the nodes by key (None: ``add`` numbers the nodes it is
        given itself)."""
        if max_records is not None and max_records < 0:
            raise ValueError(f"max_records must be None or at least 0, not {max_records}")
        self.started = started
        self.wall_start = wall_start
        self.nodes: list[object] = [] if nodes is None else list(nodes)
        self._keys: dict[int, int] | None = None if nodes is not None else {}
        self.max_records = max_records
        #: the records' numbers; the runtime extends it by ``WIDTH`` per plain success itself, and
        #: calls ``drop_oldest`` when its length reaches ``bound``
        self.columns: list[Any] = []
        kept = sys.maxsize // WIDTH if max_records is None else max_records + max(1, max_records // 4)
        self.bound = kept * WIDTH
        self.unusual: dict[int, tuple[Generation, str, int, BaseException | None]] = {}
        self._first = 0  # the number of the first record kept (the ones before were dropped)
        self._tallies: dict[object, _Tally] = {}
        self._dropped = 0

    def add(
        self,
        node: object,
        generation: Generation,
        status: str,
        started: float,
        ended: float,
        attempts: int,
        error: BaseException | None,
    ) -> None:
        """Record one ended evaluation. ``node`` is its key (an index in ``nodes``), or the node
        itself when the recorder was made without ``nodes``."""
        key = self._key(node)
        columns = self.columns
        if status == "succeeded" and attempts == 1 and generation is not None and len(generation) == 1:
            columns.extend((key, generation[0], started, ended))
        else:
            self.unusual[self._first + len(columns) // WIDTH] = (generation, status, attempts, error)
            columns.extend((key, -1, started, ended))
        if len(columns) >= self.bound:
            self.drop_oldest()

    @property
    def recorded(self) -> int:
        """How many records were added so far, the dropped ones included (a record's number is
        how many came before it: ``RunReport.truncated`` plus its index in ``evaluations``)."""
        return self._first + len(self.columns) // WIDTH

    def _key(self, node: object) -> int:
        keys = self._keys
        if keys is None:
            return node  # type: ignore[return-value]  # (the runtime passes its index)
        key = keys.get(id(node))
        if key is None:
            keys[id(node)] = key = len(self.nodes)
            self.nodes.append(node)
        return key

    def drop_oldest(self) -> None:
        """Fold the records older than the latest ``max_records`` into the tallies, and drop them."""
        assert self.max_records is not None
        excess = len(self.columns) // WIDTH - self.max_records
        if excess > 0:
            details = _details()
            details.fold(self._tallies, decode(self.columns, self.unusual, self._first, excess))
            del self.columns[: excess * WIDTH]
            self._first += excess
            self._dropped += excess

    def finish(self, outcome: Any, ended: float, error: BaseException | None = None) -> RunReport:
        """The report of the run, which ended by ``outcome`` at ``ended`` (loop clock), raising ``error``
        (None when it raised nothing). ``outcome`` is a ``RunOutcome`` or the name of one (the run's
        ending phase: ``RunPhase.name``). Call it once; the report does not see later ``add`` calls."""
        if self.max_records is not None:
            self.drop_oldest()
        kept = (self.columns, self.unusual, self._first)
        report = RunReport(outcome, self.started, ended, self.wall_start, error, kept, self._tallies, self._dropped, self.nodes)
        self.columns, self.unusual, self._tallies, self._dropped = [], {}, {}, 0
        return report


# ---------------------------------------------------------------------------------------- decoding
def decode(
    columns: list[Any], unusual: dict[int, tuple[Generation, str, int, BaseException | None]], first: int,
    count: int | None = None,
) -> list[RawRecord]:
    """The first ``count`` records (all by default) as ``RawRecord`` tuples, statuses as their words
    (``EvaluationStatus`` is a StrEnum: they compare and hash alike); with ``count``, their
    ``unusual`` entries are taken out (the records are being dropped)."""
    end = len(columns) if count is None else count * WIDTH
    records: list[RawRecord] = []
    number = first
    for index in range(0, end, WIDTH):
        key, final, started, ended = columns[index : index + WIDTH]
        if final >= 0:
            records.append((key, (final,), "succeeded", started, ended, 1, None))
        else:
            generation, status, attempts, error = unusual.pop(number) if count is not None else unusual[number]
            records.append((key, generation, status, started, ended, attempts, error))
        number += 1
    return records


# ---------------------------------------------------------------------------------------- report
class RunReport:
    """What a run did: every evaluation (up to the recorder's bound), per node, in total, and how it ended.

    Attributes: ``outcome`` (a ``RunOutcome``), ``started`` / ``ended`` (loop-clock seconds),
    ``started_at`` (wall clock), ``error`` (what the run raised, or None) and ``truncated`` (how many
    of the oldest evaluation records were dropped; summaries and totals still count them).

    Example::

        report = f.run_until_complete()       # or f.last_report after a run that raised
        print(report.summary())               # one row per node: evaluations, failures, mean time
        for record in report.errors:          # failed and timed-out evaluations
            print(record.node_name, record.generation, record.traceback)
        report.raise_for_errors()             # RunFailed unless report.ok
        open("run.json", "w").write(report.to_json(indent=2))
    """

    def __init__(
        self,
        outcome: Any,
        started: float,
        ended: float,
        wall_start: float,
        error: BaseException | None,
        kept: tuple[list[Any], dict[int, Any], int],
        dropped_tallies: dict[object, _Tally],
        truncated: int,
        nodes: Sequence[object],
    ) -> None:
        self._outcome = getattr(outcome, "name", outcome)
        self.started = started
        self.ended = ended
        self.wall_start = wall_start
        self.error = error
        self.truncated = truncated
        self._kept = kept
        self._dropped_tallies = dropped_tallies
        self._nodes = nodes

    @cached_property
    def outcome(self) -> RunOutcome:
        """How the run ended (a ``RunOutcome``, also a string: ``"completed"``...)."""
        return _details().outcome_named(self._outcome)

    def _node(self, key: Any) -> object:
        """The node a raw record names (see ``RawRecord``)."""
        return self._nodes[key]

    @cached_property
    def _raw(self) -> list[RawRecord]:
        return decode(*self._kept)

    @cached_property
    def started_at(self) -> datetime:
        """When the run started, on the wall clock (UTC)."""
        from datetime import datetime, timezone  # (imported on first use: not on flowno_core's import path)

        return datetime.fromtimestamp(self.wall_start, timezone.utc)

    @property
    def duration(self) -> float:
        """The run's length in loop-clock seconds."""
        return self.ended - self.started

    # -- derived views, built on first read --------------------------------------------------------
    @cached_property
    def _tallies(self) -> dict[object, _Tally]:
        tallies = {node: tally.copy() for node, tally in self._dropped_tallies.items()}
        _details().fold(tallies, self._raw)
        return tallies

    @cached_property
    def _names(self) -> dict[object, str]:
        """Each node key's name."""
        by_node = _details().unique_names(self._node(key) for key in self._tallies)
        return {key: by_node[self._node(key)] for key in self._tallies}

    @cached_property
    def evaluations(self) -> list[EvaluationRecord]:
        """The kept evaluation records, in the order the evaluations ended."""
        return [self._record(raw) for raw in self._raw]

    @cached_property
    def errors(self) -> list[EvaluationRecord]:
        """The kept records of failed and timed-out evaluations (equal to those in ``evaluations``)."""
        failures = _details().FAILURES
        return [self._record(raw) for raw in self._raw if raw[2] in failures]  # (2: the status)

    @cached_property
    def nodes(self) -> dict[str, NodeSummary]:
        """One summary per node that ended an evaluation, by node name, in the order of their first."""
        names = self._names
        return {names[key]: tally.as_summary(self._node(key), names[key]) for key, tally in self._tallies.items()}

    @cached_property
    def totals(self) -> RunTotals:
        summaries = self.nodes.values()
        return _details().RunTotals(
            sum(s.evaluations for s in summaries), sum(s.succeeded for s in summaries),
            sum(s.failed for s in summaries), sum(s.skipped for s in summaries),
            sum(s.cancelled for s in summaries), sum(s.timed_out for s in summaries),
            sum(s.attempts for s in summaries), sum(s.total_duration for s in summaries),
        )

    @property
    def ok(self) -> bool:
        """The run ended by itself (completed or reached its limit), raised nothing, and no
        evaluation failed or timed out."""
        return self.outcome in _details().CLEAN_OUTCOMES and self.error is None and self.totals.failures == 0

    def _record(self, raw: RawRecord) -> EvaluationRecord:
        key, generation, status, started, ended, attempts, error = raw
        details = _details()
        return details.EvaluationRecord(
            self._node(key), self._names[key], generation, details.EvaluationStatus(status), started, ended, attempts, error
        )

    # -- errors ------------------------------------------------------------------------------------
    def raise_for_errors(self) -> None:
        """Raise ``RunFailed`` unless the run is ``ok``.

        Its message has one line per failing node (its last failure's generation and error, and how
        many failures it had) and one for the run's own error or unclean ending. ``errors`` holds the
        kept failure records, ``exceptions`` every distinct exception (the run's own error last);
        ``__cause__`` is that exception when there is one, an ExceptionGroup of them when several.
        """
        if self.ok:
            return
        details = _details()
        exceptions = self._exceptions()
        lines = [details.failure_line(summary) for summary in self.nodes.values() if summary.failures]
        if self.outcome not in details.CLEAN_OUTCOMES and self.outcome is not details.RunOutcome.FAILED:
            lines.append(self._ending_line())
        elif not self._error_is_a_node_failure():
            lines.append(self._ending_line())
        message = lines[0] if len(lines) == 1 else "\n  ".join([f"{len(lines)} errors in the run:", *lines])
        raise RunFailed(message, self.errors, exceptions) from details.group_of(exceptions)

    def _error_is_a_node_failure(self) -> bool:
        """The run raised nothing, or it raised (a wrapper of) a failure its nodes already report."""
        error = self.error
        if error is None:
            return True
        return any(error is e or error.__cause__ is e for e in self._node_errors())

    def _node_errors(self) -> list[BaseException]:
        """The kept failures' errors, then the last error of each node whose failures were all dropped."""
        found = [record.error for record in self.errors if record.error is not None]
        kept_failing = {id(record.node) for record in self.errors}
        for key, tally in self._tallies.items():
            if id(self._node(key)) not in kept_failing and tally.last_error is not None:
                found.append(tally.last_error)
        return found

    def _exceptions(self) -> list[BaseException]:
        """The kept failures' errors, the last error of each node whose failures were all dropped,
        then the run's own error unless it is (or wraps) one of those."""
        found = self._node_errors()
        if not self._error_is_a_node_failure():
            found.append(self.error)  # type: ignore[arg-type]
        return _details().unique(found)

    def _ending_line(self) -> str:
        details = _details()
        ending = f"the run ended ({details.words(self.outcome)})"
        return ending if self.error is None else f"{ending}: {details.one_line(self.error)}"

    # -- output --------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-safe data (str, int, float, bool, None, list, dict only)."""
        return {
            "outcome": self.outcome.value,
            "ok": self.ok,
            "started_at": self.started_at.isoformat(),
            "started": self.started,
            "ended": self.ended,
            "duration": self.duration,
            "error": _details().error_to_json(self.error),
            "truncated": self.truncated,
            "totals": self.totals.to_dict(),
            "nodes": {name: summary.to_dict() for name, summary in self.nodes.items()},
            "evaluations": [record.to_dict() for record in self.evaluations],
        }

    def to_json(self, indent: int | None = None) -> str:
        import json  # (imported on first use: not on flowno_core's import path)

        return json.dumps(self.to_dict(), indent=indent)

    def summary(self) -> str:
        """A small table: one row per node (evaluations, failures, skips when there were any, mean
        time) and the totals."""
        totals = self.totals
        words, seconds, plural = _details().words, _details().seconds, _details().plural
        dropped = f" ({plural(self.truncated, 'record')} dropped)" if self.truncated else ""
        skips = f", {totals.skipped} skipped" if totals.skipped else ""
        head = (
            f"run {words(self.outcome)} in {seconds(self.duration)}: "
            f"{plural(totals.evaluations, 'evaluation')}, {plural(totals.failures, 'failure')}{skips}{dropped}"
        )
        rows = [("node", "evaluations", "failures", "skipped", "mean time")]
        for name, node in self.nodes.items():
            rows.append((name, str(node.evaluations), str(node.failures), str(node.skipped), seconds(node.mean_duration)))
        rows.append(("total", str(totals.evaluations), str(totals.failures), str(totals.skipped), ""))
        width = max(len(row[0]) for row in rows)
        table = [
            f"{a:<{width}}  {b:>11}  {c:>8}  {d:>7}  {e:>9}" if skips else f"{a:<{width}}  {b:>11}  {c:>8}  {e:>9}"
            for a, b, c, d, e in rows
        ]
        return "\n".join([head, *(line.rstrip() for line in table)])

    def __repr__(self) -> str:
        totals = self.totals
        plural = _details().plural
        return (
            f"<RunReport {self.outcome.value}: {plural(totals.evaluations, 'evaluation')}, "
            f"{plural(totals.failures, 'failure')}, {plural(len(self.nodes), 'node')}>"
        )


