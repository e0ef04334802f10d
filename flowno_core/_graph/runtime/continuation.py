"""What a stopped run leaves for the next one (D5 with D13).

Theory of operation: a run ends by a limit, an error, a cancellation or a deadlock while some nodes
are in the middle of something. Their tasks are then closed (D13), so before that ``capture``
writes down, for every such node, how the next run picks up its work, and the order in which they
were scheduled (``NodeState.seq``), which is the order the kernel would have run them in:

* scheduled, not begun: start it (gather its inputs then, as it would have);
* an evaluation in progress that published nothing yet: replay it with the inputs it gathered
  (the producers may have moved on since). A Stream argument cannot be replayed (the chunks it read
  are gone, D14): such an evaluation gathers again, see "lost reads" below;
* an evaluation finished and waiting at the level-0 barrier: publish its value when the barrier
  opens, without evaluating again;
* a streaming node in the middle of a lap: the lap is cut (SPEC §0.2: its chunks stay, its final
  value never exists, the generator starts afresh as lap k+1). It starts again at once if it was
  asked to go on or lies on a cycle (nothing else would ask it); otherwise when someone wants it;
* a node that failed: its evaluation is tried again with the inputs it had.

Lost reads: an evaluation that had begun reading a stream and gathers again reads the producer's
next lap when the producer starts one by itself (it restarts, or it is upstream and will be pulled);
on a ring of streams it starts from its port's default, as the ring first did; otherwise (its
producer is on a cycle with it and will not go on without it) it reads what is left of the lap.

The nodes that were on the resolution queue are wanted again, in its order, after those restarts.
Everything else carries over as it is (idle nodes, nodes waiting for their upstream). A run that
completed leaves nothing: the next one starts every node afresh.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..rules.lifecycle import LapEvent, LapPhase, NodePhase, Request
from .records import Connection, NodeState, Resume, move_lap

_EVALUATING = (NodePhase.RUNNING, NodePhase.STALLED, NodePhase.HELD, NodePhase.PAUSED, NodePhase.BARRIER)


class Continuation:
    """The nodes to restart (in the order they were scheduled), then the nodes to want again
    (the resolution queue, in its order)."""

    __slots__ = ("restart", "want")

    def __init__(self, restart: list[NodeState] | None = None, want: list[NodeState] | None = None) -> None:
        self.restart = restart or []
        self.want = want or []


def capture(states: list[NodeState], queue: Iterable[NodeState]) -> Continuation:
    """Set ``resume`` on every node that has work left; returns what the next run starts with."""
    restart: list[NodeState] = []
    lost: list[Connection] = []
    for state in states:
        resume = _resume_of(state)
        state.pending &= Request.WANT if resume is not None and resume.args is not None else Request.NONE
        state.resume = resume
        if resume is not None:
            restart.append(state)
        if state.phase in _EVALUATING and state.phase is not NodePhase.BARRIER:
            lost.extend(stream._conn for stream in state.streams if stream._lap == stream._conn.lap and stream._conn.active)
    for conn in lost:
        _decide_lost_read(conn)
    restart.sort(key=lambda state: state.seq)
    return Continuation(restart, list(queue))


def _resume_of(state: NodeState) -> Resume | None:
    phase = state.phase
    if phase is NodePhase.SCHEDULED:
        return state.resume or Resume()  # a continuation not begun yet keeps what it had to do
    if phase is NodePhase.FAILED:
        return _replay_or_start(state)
    if phase not in _EVALUATING:
        return None
    if phase is NodePhase.BARRIER:
        return _publish(state)
    if state.lap_phase is LapPhase.OPEN:
        move_lap(state, LapEvent.CUT)
        state.cut_inputs = [conn.consumed for conn in state.inputs]
        if phase is NodePhase.PAUSED and not state.pending & Request.MORE and not _on_a_cycle(state):
            return None  # nobody asked it to go on: it starts its next lap when someone does
        return Resume()
    return _replay_or_start(state)


def _on_a_cycle(state: NodeState) -> bool:
    return any(conn.producer.scc == state.scc for conn in state.inputs)


def _decide_lost_read(conn: Connection) -> None:
    """See "lost reads" in the module docstring."""
    producer, reader = conn.producer, conn.consumer
    if conn.stream_cycle and conn.port.has_default:
        conn.restart_from_default = True
    elif producer.resume is not None or producer.scc != reader.scc:
        conn.lost_lap = conn.lap


def _replay_or_start(state: NodeState) -> Resume:
    resume = Resume()
    if not state.streams:
        resume.args = state.args
        resume.defaulted = list(state.defaulted)
    return resume


def _publish(state: NodeState) -> Resume:
    resume = Resume()
    resume.final = state.final_at_barrier
    resume.streamed = state.lap_phase is LapPhase.OPEN
    resume.defaulted = list(state.defaulted)
    return resume
