"""What a stopped run leaves for the next one (D5 with D13).

Theory of operation: a run ends by a limit, an error, a cancellation or a deadlock while some nodes
are in the middle of something. Their tasks are then closed (D13), so before that ``capture``
writes down, for every such node, how the next run picks up its work, and the order in which they
were scheduled (``NodeState.seq``), which is the order the kernel would have run them in:

* scheduled, not begun: start it (gather its inputs then, as it would have);
* an evaluation in progress that published nothing yet: replay it with the inputs it gathered
  (the producers may have moved on since; a Stream argument cannot be replayed, so such an
  evaluation gathers again);
* an evaluation finished and waiting at the level-0 barrier: publish its value when the barrier
  opens, without evaluating again;
* a streaming node in the middle of a lap: the lap is cut (SPEC §0.2: its chunks stay, its final
  value never exists, the generator starts afresh as lap k+1 when someone wants it); a generator
  that was asked to go on is started again at once;
* a node that failed: its evaluation is tried again with the inputs it had.

The nodes that were on the resolution queue are wanted again, in its order, after those restarts.
Everything else carries over as it is (idle nodes, nodes waiting for their upstream). A run that
completed leaves nothing: the next one starts every node afresh.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..rules.lifecycle import LapEvent, LapPhase, NodePhase, Request
from .records import NodeState, Resume, move_lap

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
    for state in states:
        resume = _resume_of(state)
        state.pending &= Request.WANT if resume is not None and resume.args is not None else Request.NONE
        state.resume = resume
        if resume is not None:
            restart.append(state)
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
    if state.lap_phase is LapPhase.OPEN:  # mid-lap: the lap is cut; start afresh if it had to go on
        move_lap(state, LapEvent.CUT)
        return None if phase is NodePhase.PAUSED else Resume()
    return _replay_or_start(state)


def _replay_or_start(state: NodeState) -> Resume:
    resume = Resume()
    if not state.streams:  # a Stream argument cannot be read again: gather afresh instead
        resume.args = state.args
        resume.defaulted = list(state.defaulted)
    return resume


def _publish(state: NodeState) -> Resume:
    resume = Resume()
    resume.final = state.final_at_barrier
    resume.streamed = state.lap_phase is LapPhase.OPEN
    resume.defaulted = list(state.defaulted)
    return resume
