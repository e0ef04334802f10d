"""The lifecycles of a node, of a streaming node's lap, and of a run: three transition tables.

Theory of operation
-------------------
Each lifecycle is an Enum of phases, an Enum of events and one table ``(phase, event) -> phase``,
in the style of h11: pure data and one function, ``apply``, that is the only code anywhere that
changes a phase. An event that is not in the table is refused with ``IllegalTransition`` naming
the owner, the phase and the event; the runtime decides *which* event happened and performs the
effects (waking a task, publishing a value), but never assigns a phase itself.

A node's phase also says whether the node is *busy* (counted to notice that a run has nothing left
to do), so ``apply`` keeps that count (and a count of moves) in a tally the runtime passes in.

Two requests can reach a node while it cannot act on them: being wanted again while an evaluation
is in progress (its inputs changed after it gathered them) and being asked for more chunks while it
is not paused. They are not phases: they wait in ``pending`` (a small set of ``Request`` flags) and
are taken when the node next can act (``defer`` / ``take``). A node that must be skipped while it is
busy likewise takes the skip when its evaluation ends.

``render_markdown`` and ``render_mermaid`` print the tables; docs/design.md holds their output
(``render_all()`` prints it) and a test checks it is current.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Protocol, TypeVar


class IllegalTransition(RuntimeError):
    """An internal error: an event arrived in a phase whose row does not list it."""


class Member(enum.Enum):
    """Base of the phases and events: members hash by identity (they are singletons, and Enum's
    own hash, computed in Python, would cost every table lookup)."""

    __hash__ = object.__hash__


class DescribedPhase(Member):
    """A phase with a short label and a sentence saying what it means (laps and runs)."""

    def __init__(self, label: str, meaning: str) -> None:
        self.label = label
        self.meaning = meaning


# ---------------------------------------------------------------------------------------- node
class NodePhase(Member):
    """Where a node is in its life within a run."""

    IDLE = ("idle", False, "parked between evaluations; nobody wants it")
    WAITING = ("waiting", False, "wanted, but waiting for stale upstream nodes to produce first")
    SCHEDULED = ("scheduled", True, "started: its task will begin an evaluation")
    RUNNING = ("running", True, "evaluating: gathering inputs, in the node's code, or publishing")
    STALLED = ("stalled", True, "in an evaluation, reading a stream that has no new chunk yet")
    PAUSED = ("paused", False, "a generator between chunks that nobody asked to go on")
    HELD = ("held", True, "a generator between chunks that is to go on: waiting for a reader behind, or its turn")
    BARRIER = ("barrier", True, "evaluated; waiting for level-0 readers of its previous value before publishing")
    RETRYING = ("retrying", True, "its code failed and its policy allows another attempt: waiting retry_delay")
    FAILED = ("failed", False, "its evaluation failed in this run (terminate_on_node_error=False)")
    SKIPPED = ("skipped", False, "depends on a failed node: not evaluated again in this run")

    def __init__(self, label: str, busy: bool, meaning: str) -> None:
        self.label = label
        self.busy = busy
        self.meaning = meaning
        self.moves: dict[NodeEvent, tuple[NodePhase, int]] = {}  # its row of the table (set below)


class NodeEvent(Member):
    """What can happen to a node (the runtime raises these, ``apply`` moves the phase)."""

    START = "a resolution found it ready (or chose it to break a cycle)"
    WAIT = "a resolution found stale inputs whose producers must run first"
    BEGIN = "its task begins the evaluation"
    STALL = "a stream it reads has no new chunk"
    UNSTALL = "the stream it waits on has news (a chunk, its end, an error)"
    PAUSE = "it published a chunk and nobody wants the next one yet"
    HOLD = "it must go on, but an active reader has not read its last chunk"
    RESUME = "it may produce its next chunk"
    AWAIT_READERS = "its new value is ready but a level-0 reader has not gathered the previous one"
    READERS_DONE = "every level-0 reader gathered the previous value"
    FINISH = "the evaluation ended"
    RETRY = "its code failed; its policy allows another attempt (retries=...)"
    ATTEMPT = "the retry delay is over: the next attempt begins, with the same inputs"
    DROP = "its code failed for good under on_error='continue' or 'skip': it publishes a marker instead of a value"
    FAIL = "the node's code raised (and the run goes on)"
    SKIP = "a node it depends on failed in this run"
    END_RUN = "the run ended (its task is closed; what it was doing is kept for the next run)"


class Request:
    """Requests that wait in ``pending`` (a small int of these flags) until the node can act on them."""

    NONE = 0
    WANT = 1  # wanted again: inputs changed after this evaluation gathered them
    MORE = 2  # asked for its next chunk while it was not paused
    SKIP = 4  # skip it once the evaluation in progress ends


class PhaseHolder(Protocol):
    """What ``apply`` needs of the object whose phase it moves (the runtime's node record)."""

    phase: Any


class Tally(Protocol):
    """Where ``apply`` counts (the runtime's run): busy nodes, moves, and who hears of each move."""

    busy: int
    moves: int
    observer: Callable[[Any, NodePhase, NodeEvent], None] | None


P = TypeVar("P", bound=enum.Enum)
E = TypeVar("E", bound=enum.Enum)

N, V = NodePhase, NodeEvent  # short names for the table below

NODE_TABLE: dict[NodePhase, dict[NodeEvent, NodePhase]] = {
    N.IDLE: {V.START: N.SCHEDULED, V.WAIT: N.WAITING, V.SKIP: N.SKIPPED},
    N.WAITING: {V.START: N.SCHEDULED, V.WAIT: N.WAITING, V.SKIP: N.SKIPPED},
    N.SCHEDULED: {V.BEGIN: N.RUNNING},
    N.RUNNING: {
        V.STALL: N.STALLED,
        V.PAUSE: N.PAUSED,
        V.HOLD: N.HELD,
        V.AWAIT_READERS: N.BARRIER,
        V.FINISH: N.IDLE,
        V.RETRY: N.RETRYING,
        V.DROP: N.RUNNING,
        V.FAIL: N.FAILED,
    },
    N.STALLED: {V.UNSTALL: N.RUNNING, V.DROP: N.RUNNING, V.FAIL: N.FAILED},
    N.PAUSED: {V.RESUME: N.RUNNING, V.HOLD: N.HELD, V.DROP: N.RUNNING, V.FAIL: N.FAILED, V.SKIP: N.SKIPPED},
    N.HELD: {V.RESUME: N.RUNNING, V.DROP: N.RUNNING, V.FAIL: N.FAILED},
    N.BARRIER: {V.READERS_DONE: N.RUNNING, V.DROP: N.RUNNING, V.FAIL: N.FAILED},
    N.RETRYING: {V.ATTEMPT: N.RUNNING, V.DROP: N.RUNNING, V.FAIL: N.FAILED},
    N.FAILED: {V.FINISH: N.FAILED, V.SKIP: N.FAILED},
    N.SKIPPED: {V.SKIP: N.SKIPPED},
}
for _phase, _row in NODE_TABLE.items():  # every node leaves a run idle; a wait for upstream is kept
    _row[V.END_RUN] = N.WAITING if _phase is N.WAITING else N.IDLE
del N, V, _phase, _row

# Each phase keeps its own row as ``{event: (new phase, change of the busy count)}``: the form
# ``apply`` reads, one dict lookup per move.
for _phase, _row in NODE_TABLE.items():
    _phase.moves = {event: (new, int(new.busy) - int(_phase.busy)) for event, new in _row.items()}
del _phase, _row


def apply(node: PhaseHolder, event: NodeEvent, tally: Tally) -> None:
    """Move ``node.phase`` by ``event``; count the move and the change of busy nodes in ``tally``,
    then tell ``tally.observer(node, old_phase, event)`` if there is one.

    Raises IllegalTransition when the node's phase has no row for ``event`` (nothing changes).
    """
    phase = node.phase
    try:
        new, busy = phase.moves[event]
    except KeyError:
        raise IllegalTransition(
            f"node {node!r}: event {event.name} is not allowed in phase {phase.name} "
            f"(allowed: {', '.join(e.name for e in NODE_TABLE[phase]) or 'none'})"
        ) from None
    node.phase = new
    tally.busy += busy
    tally.moves += 1
    observer = tally.observer
    if observer is not None:
        observer(node, phase, event)


class Pending(Protocol):
    pending: int


def defer(node: Pending, request: int) -> None:
    """Remember ``request`` (a ``Request`` flag) until the node can act on it."""
    node.pending |= request


def take(node: Pending, request: int) -> bool:
    """Whether ``request`` was pending; it is no longer."""
    pending = node.pending
    if pending & request:
        node.pending = pending & ~request
        return True
    return False


# ---------------------------------------------------------------------------------------- lap
class LapPhase(DescribedPhase):
    """The latest lap of a streaming node (one run of its generator, main generation k)."""

    NONE = ("none", "the node never streamed")
    OPEN = ("open", "chunks (k, 0), (k, 1), ... are being published")
    CLOSED = ("closed", "the lap ended: its final value (k,) is published (or the node failed)")
    CUT = ("cut", "a stop ended the run mid-lap: its final value will never exist; the next lap is k+1")


class LapEvent(Member):
    """What can happen to a lap."""

    OPEN = "the first chunk of a lap (or the end of a lap with no chunks) is published"
    CLOSE = "the final value is published, or the producer failed"
    CUT = "the run stopped while the lap was open"


LAP_TABLE: dict[LapPhase, dict[LapEvent, LapPhase]] = {
    LapPhase.NONE: {LapEvent.OPEN: LapPhase.OPEN},
    LapPhase.OPEN: {LapEvent.CLOSE: LapPhase.CLOSED, LapEvent.CUT: LapPhase.CUT},
    LapPhase.CLOSED: {LapEvent.OPEN: LapPhase.OPEN},
    LapPhase.CUT: {LapEvent.OPEN: LapPhase.OPEN},
}


# ---------------------------------------------------------------------------------------- run
class RunPhase(DescribedPhase):
    """A flow's runs: one is running, or the last one ended in exactly one way."""

    READY = ("ready", "never run: the first run starts every node")
    RUNNING = ("running", "run_until_complete is running")
    COMPLETED = ("completed", "nothing was left to do: the next run starts every node afresh")
    LIMIT_REACHED = ("limit reached", "a node reached its stop_at_node_generation; the next run continues")
    FAILED = ("failed", "a node's error ended the run, or errors were collected; the next run continues")
    CANCELLED = ("cancelled", "Ctrl-C, flow.cancel() or a cancellation ended the run; the next run continues")
    TIMED_OUT = ("timed out", "run_until_complete(timeout=...) expired; the next run continues")
    DEADLOCKED = ("deadlocked", "nothing could make progress; the next run continues")


class RunEvent(Member):
    """What can happen to a run."""

    START = "run_until_complete begins"
    QUIESCENT = "no node is busy and none is wanted"
    LIMIT = "a node's generation reached its limit"
    FAIL = "a node error ends the run (or the run ended with collected errors)"
    CANCEL = "Ctrl-C, KeyboardInterrupt, flow.cancel() or a cancellation"
    TIMEOUT = "the run's own timeout expired"
    DEADLOCK = "the loop can wake nothing and nodes or tasks still wait"


ENDINGS = (
    RunPhase.COMPLETED,
    RunPhase.LIMIT_REACHED,
    RunPhase.FAILED,
    RunPhase.CANCELLED,
    RunPhase.TIMED_OUT,
    RunPhase.DEADLOCKED,
)

RUN_TABLE: dict[RunPhase, dict[RunEvent, RunPhase]] = {
    RunPhase.READY: {RunEvent.START: RunPhase.RUNNING},
    RunPhase.RUNNING: {
        RunEvent.QUIESCENT: RunPhase.COMPLETED,
        RunEvent.LIMIT: RunPhase.LIMIT_REACHED,
        RunEvent.FAIL: RunPhase.FAILED,
        RunEvent.CANCEL: RunPhase.CANCELLED,
        RunEvent.TIMEOUT: RunPhase.TIMED_OUT,
        RunEvent.DEADLOCK: RunPhase.DEADLOCKED,
    },
    **{ending: {RunEvent.START: RunPhase.RUNNING} for ending in ENDINGS},
}


class Admission(DescribedPhase):
    """Whether a running flow lets evaluations begin (``flow.pause()`` / ``flow.resume()``)."""

    OPEN = ("open", "evaluations begin as soon as their node is scheduled")
    PAUSED = ("paused", "no evaluation begins (scheduled nodes wait); the ones already running go on")


class AdmissionEvent(Member):
    """What can happen to a flow's admission."""

    PAUSE = "flow.pause() (from any thread)"
    RESUME = "flow.resume(), or the end of the run"


ADMISSION_TABLE: dict[Admission, dict[AdmissionEvent, Admission]] = {
    Admission.OPEN: {AdmissionEvent.PAUSE: Admission.PAUSED, AdmissionEvent.RESUME: Admission.OPEN},
    Admission.PAUSED: {AdmissionEvent.PAUSE: Admission.PAUSED, AdmissionEvent.RESUME: Admission.OPEN},
}


def follow(table: dict[P, dict[E, P]], phase: P, event: E, owner: object) -> P:
    """The phase ``event`` leads to from ``phase`` in ``table`` (laps and runs; nodes use ``apply``).

    Raises IllegalTransition naming ``owner``, the phase and the event when the row lacks it.
    """
    new = table[phase].get(event)
    if new is None:
        raise IllegalTransition(
            f"{owner}: event {event.name} is not allowed in phase {phase.name} "
            f"(allowed: {', '.join(e.name for e in table[phase]) or 'none'})"
        )
    return new


# ---------------------------------------------------------------------------------------- printing
def render_markdown(title: str, table: dict[Any, dict[Any, Any]], busy: bool = False) -> str:
    """The table as markdown: one row per phase with its moves, then what each event means."""
    events: dict[Any, None] = {}
    header = "| phase |" + (" busy |" if busy else "") + " meaning | event → next phase |"
    lines = [f"#### {title}", "", header, "|---|" + ("---|" if busy else "") + "---|---|"]
    for phase, row in table.items():
        moves = ", ".join(f"`{event.name}` → `{new.name}`" for event, new in row.items())
        events.update(dict.fromkeys(row))
        lines.append(f"| `{phase.name}` |" + (f" {'yes' if phase.busy else ''} |" if busy else "") + f" {phase.meaning} | {moves} |")
    lines += ["", "| event | when |", "|---|---|"]
    lines += [f"| `{event.name}` | {event.value} |" for event in events]
    return "\n".join(lines)


def render_mermaid(table: dict[Any, dict[Any, Any]]) -> str:
    """The table as a Mermaid state diagram (one arrow per pair of phases, its events joined)."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for phase, row in table.items():
        for event, new in row.items():
            if event is not NodeEvent.END_RUN:  # every phase goes back to IDLE: one note says so
                arrows.setdefault((phase.name, new.name), []).append(event.name)
    lines = ["stateDiagram-v2", "    [*] --> IDLE"]
    lines += [f"    {old} --> {new}: {', '.join(names)}" for (old, new), names in arrows.items()]
    return "\n".join(lines)


def render_all() -> str:
    """Every table, as docs/design.md holds them."""
    return "\n\n".join(
        [
            render_markdown("Node", NODE_TABLE, busy=True),
            "```mermaid\n" + render_mermaid(NODE_TABLE) + "\n```",
            render_markdown("Stream lap", LAP_TABLE),
            render_markdown("Run", RUN_TABLE),
            render_markdown("Admission", ADMISSION_TABLE),
        ]
    )
