"""The parts of a run report built when it is read: statuses and outcomes, records, per-node
summaries and totals, and the helpers that name, count and print them (``report.py`` holds what a
run needs while it runs, and loads this module on a report's first read).
"""


from __future__ import annotations

import enum
import operator
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from traceback import format_exception
from typing import Any, NamedTuple, TypeAlias

from ..rules.generations import Generation

class EvaluationStatus(enum.StrEnum):
    """How one evaluation ended (the values are the words used in JSON)."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"


class RunOutcome(enum.StrEnum):
    """How a run ended. The member names are those of the run's ending phases (``RunPhase``)."""

    COMPLETED = "completed"
    LIMIT_REACHED = "limit_reached"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DEADLOCKED = "deadlocked"
    TIMED_OUT = "timed_out"


def outcome_named(name: str) -> RunOutcome:
    """The outcome named like the run's ending phase (``RunPhase.name``); a run still RUNNING when
    its report is made (the kernel itself failed) counts as failed."""
    return RunOutcome.__members__.get(name, RunOutcome.FAILED)


#: the statuses that make an evaluation an error of the run
FAILURES = frozenset((EvaluationStatus.FAILED, EvaluationStatus.TIMED_OUT))

#: the outcomes of a run that ended by itself
CLEAN_OUTCOMES = frozenset((RunOutcome.COMPLETED, RunOutcome.LIMIT_REACHED))

#: One ended evaluation, as a report reads it (decoded from the recorder's columns):
#: ``(node, generation, status, started, ended, attempts, error)``, at the indexes below. ``node``
#: is the node's key: its index in the recorder's ``nodes``.
#: ``started`` and ``ended`` are loop-clock seconds, ``attempts`` counts the tries (retries + 1),
#: ``error`` is the exception that ended the evaluation or None.
RawRecord: TypeAlias = tuple[object, Generation, str, float, float, int, BaseException | None]  # (str: a status word)
NODE, GENERATION, STATUS, STARTED, ENDED, ATTEMPTS, ERROR = range(7)


# ---------------------------------------------------------------------------------------- records
class EvaluationRecord:
    """One evaluation of one node: what it computed, how it ended, when, and after how many tries.

    (Records, summaries and totals are plain classes and named tuples rather than dataclasses:
    this module loads on a report's first read, often in a process's first run, where three
    dataclasses cost about 2 ms.)
    """

    __slots__ = ("node", "node_name", "generation", "status", "started", "ended", "attempts", "error", "_traceback")
    FIELDS = __slots__[:-1]

    node: object
    node_name: str
    generation: Generation
    status: EvaluationStatus
    started: float
    ended: float
    attempts: int
    error: BaseException | None
    _traceback: str | None

    def __init__(
        self,
        node: object,
        node_name: str,
        generation: Generation,
        status: EvaluationStatus,
        started: float,
        ended: float,
        attempts: int,
        error: BaseException | None,
    ) -> None:
        setter = object.__setattr__
        for name, value in zip(self.FIELDS, (node, node_name, generation, status, started, ended, attempts, error)):
            setter(self, name, value)
        setter(self, "_traceback", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"an EvaluationRecord is read-only (tried to set {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (EvaluationRecord, tuple(getattr(self, name) for name in self.FIELDS))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"EvaluationRecord({fields})"

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def traceback(self) -> str | None:
        """The error's formatted traceback (chained causes and notes included), formatted on first read."""
        if self.error is None:
            return None
        if self._traceback is None:
            object.__setattr__(self, "_traceback", "".join(format_exception(self.error)))
        return self._traceback

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node_name,
            "generation": generation_to_json(self.generation),
            "status": self.status.value,
            "started": self.started,
            "ended": self.ended,
            "duration": self.duration,
            "attempts": self.attempts,
            "error": error_to_json(self.error, self.traceback),
        }


class NodeSummary(NamedTuple):
    """All of one node's evaluations in the run, including those whose records were dropped."""

    node: object
    node_name: str
    evaluations: int
    succeeded: int
    failed: int
    skipped: int
    cancelled: int
    timed_out: int
    attempts: int
    total_duration: float
    max_duration: float
    last_generation: Generation
    last_error: BaseException | None
    last_error_generation: Generation

    @property
    def failures(self) -> int:
        """Failed and timed-out evaluations."""
        return self.failed + self.timed_out

    @property
    def mean_duration(self) -> float:
        return self.total_duration / self.evaluations

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node_name,
            "evaluations": self.evaluations,
            **status_counts(self),
            "attempts": self.attempts,
            "total_duration": self.total_duration,
            "mean_duration": self.mean_duration,
            "max_duration": self.max_duration,
            "last_generation": generation_to_json(self.last_generation),
            "last_error": error_to_json(self.last_error),
            "last_error_generation": generation_to_json(self.last_error_generation),
        }


class RunTotals(NamedTuple):
    """The whole run's evaluations: counts per status, tries, and the sum of their durations."""

    evaluations: int
    succeeded: int
    failed: int
    skipped: int
    cancelled: int
    timed_out: int
    attempts: int
    duration: float

    @property
    def failures(self) -> int:
        return self.failed + self.timed_out

    def to_dict(self) -> dict[str, Any]:
        counts = status_counts(self)
        return {"evaluations": self.evaluations, **counts, "attempts": self.attempts, "duration": self.duration}


def status_counts(counts: NodeSummary | RunTotals) -> dict[str, int]:
    return {status.value: getattr(counts, status.value) for status in EvaluationStatus}


# ---------------------------------------------------------------------------------------- tallies
class _Tally:
    """Running sums over one node's raw records (what a NodeSummary is made of)."""

    __slots__ = ("evaluations", "counts", "attempts", "total_duration", "max_duration", "last_generation",
                 "last_error", "last_error_generation")

    def __init__(self) -> None:
        self.evaluations = 0
        self.counts: Counter[EvaluationStatus] = Counter()
        self.attempts = 0
        self.total_duration = 0.0
        self.max_duration = 0.0
        self.last_generation: Generation = None
        self.last_error: BaseException | None = None
        self.last_error_generation: Generation = None

    def copy(self) -> _Tally:
        twin = _Tally()
        for name in self.__slots__:
            setattr(twin, name, getattr(self, name))
        twin.counts = self.counts.copy()
        return twin

    def absorb(self, records: list[RawRecord]) -> None:
        """Add one node's records (oldest first), with column-wise built-ins rather than a loop."""
        _, generations, statuses, starts, ends, attempts, _ = zip(*records)
        durations = list(map(operator.sub, ends, starts))
        self.evaluations += len(records)
        self.counts.update(statuses)
        self.attempts += sum(attempts)
        self.total_duration += sum(durations)
        self.max_duration = max(self.max_duration, max(durations))
        self.last_generation = generations[-1]
        if not FAILURES.isdisjoint(statuses):
            failure = next(record for record in reversed(records) if record[STATUS] in FAILURES)
            self.last_error, self.last_error_generation = failure[6], failure[1]  # ERROR, GENERATION

    def as_summary(self, node: object, name: str) -> NodeSummary:
        counts = self.counts
        return NodeSummary(
            node, name, self.evaluations,
            counts[EvaluationStatus.SUCCEEDED], counts[EvaluationStatus.FAILED], counts[EvaluationStatus.SKIPPED],
            counts[EvaluationStatus.CANCELLED], counts[EvaluationStatus.TIMED_OUT],
            self.attempts, self.total_duration, self.max_duration, self.last_generation,
            self.last_error, self.last_error_generation,
        )


def fold(tallies: dict[object, _Tally], records: Iterable[RawRecord]) -> None:
    """Add ``records`` to the tallies of their nodes (a node first seen here is added last)."""
    by_node: defaultdict[object, list[RawRecord]] = defaultdict(list)
    for record in records:
        by_node[record[NODE]].append(record)
    for node, group in by_node.items():
        tally = tallies.get(node)
        if tally is None:
            tallies[node] = tally = _Tally()
        tally.absorb(group)




# ---------------------------------------------------------------------------------------- helpers
def unique_names(nodes: Iterable[object]) -> dict[object, str]:
    """Each node's repr (how users see nodes: ``Add#0``); a repr already taken gets `` [2]``, `` [3]``..."""
    names: dict[object, str] = {}
    taken: set[str] = set()
    for node in nodes:
        base = name = safe_text(repr, node)
        copy = 1
        while name in taken:
            copy += 1
            name = f"{base} [{copy}]"
        taken.add(name)
        names[node] = name
    return names


def unique(exceptions: list[BaseException]) -> list[BaseException]:
    """``exceptions`` without repeats of the same object, in order."""
    return list({id(e): e for e in exceptions}.values())


def group_of(exceptions: list[BaseException]) -> BaseException | None:
    if not exceptions:
        return None
    if len(exceptions) == 1:
        return exceptions[0]
    return BaseExceptionGroup("errors of the run", exceptions)  # an ExceptionGroup when all are Exceptions


def failure_line(summary: NodeSummary) -> str:
    error = "no exception recorded" if summary.last_error is None else one_line(summary.last_error)
    line = f"{summary.node_name} failed at generation {summary.last_error_generation}: {error}"
    return line if summary.failures == 1 else f"{line} ({summary.failures} failures)"


def one_line(error: BaseException) -> str:
    message = safe_text(str, error)
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def error_to_json(error: BaseException | None, traceback: str | None = None) -> dict[str, str] | None:
    """``{type, message, traceback}`` of ``error`` (the traceback formatted now unless given)."""
    if error is None:
        return None
    cls = type(error)
    qualified = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    if traceback is None:
        traceback = "".join(format_exception(error))
    return {"type": qualified, "message": safe_text(str, error), "traceback": traceback}


def generation_to_json(generation: Generation) -> list[int] | None:
    return None if generation is None else list(generation)


def safe_text(render: Callable[[object], str], value: object) -> str:
    """``render(value)`` (``str`` or ``repr``), or a placeholder when the object's own method fails."""
    try:
        return render(value)
    except Exception:
        return f"<{type(value).__name__} object: {render.__name__}() failed>"


def words(outcome: RunOutcome) -> str:
    return outcome.value.replace("_", " ")


def seconds(value: float) -> str:
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.1f} ms"
    return f"{value * 1e6:.1f} us"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
