"""How runs end badly: node errors and deadlocks.

Theory of operation: a node error with ``terminate_on_node_error=True`` ends the run at once (the
original exception, with a note naming node and generation, D4). With ``False`` the failed node
moves to FAILED, its lap is closed (its readers get NodeExecutionError), its dependants are
skipped for the rest of the run (releasing what they held: level-0 barriers and retained chunks),
and the errors are raised when the run ends. A deadlock is a kernel stall (nothing runnable, no
timer, socket or thread) while nodes are still busy, confirmed after a short real-time grace.
"""

from __future__ import annotations

import time

from ...errors import DeadlockError, NodeExecutionError
from ..rules.generations import Generation
from ..rules.lifecycle import LapPhase, NodeEvent, NodePhase, Request, RunEvent, defer
from .records import NodeState
from .run import Run
from .scheduler import Scheduler
from .streams import close_lap, finish_connection

DEADLOCK_GRACE_SECONDS = 0.25

#: phases in which a node can be skipped at once (otherwise it is skipped when its evaluation ends)
_SKIPPABLE = frozenset((NodePhase.IDLE, NodePhase.WAITING, NodePhase.PAUSED, NodePhase.SKIPPED, NodePhase.FAILED))


class Endings:
    """Node failures and deadlock detection for one flow."""

    def __init__(self, run: Run, scheduler: Scheduler) -> None:
        self.run = run
        self.scheduler = scheduler
        self.deadlock_grace = DEADLOCK_GRACE_SECONDS
        self._stall_mark = -1
        self._stall_since = 0.0

    def prepare(self) -> None:
        self._stall_mark = -1

    # ------------------------------------------------------------------ node errors (D4)
    def node_failed(self, state: NodeState, error: BaseException, target: Generation) -> None:
        run = self.run
        instrument = run.instrument
        if instrument is not None:
            instrument.on_node_error(run.flow, state.node, error)
        note = f"raised by node {state.node!r} while computing generation {target}"
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
        run.move(state, NodeEvent.FAIL)
        if run.terminate_on_error:
            run.end(RunEvent.FAIL, error)
            return
        wrapped = NodeExecutionError(state.node, f"node {state.node!r} failed at generation {target}: {error!r}")
        wrapped.__cause__ = error
        run.errors.append(wrapped)
        if state.lap_phase is LapPhase.OPEN:
            close_lap(state)
        self._skip_dependants(state)

    def _skip_dependants(self, failed: NodeState) -> None:
        self._release_inputs(failed)
        seen = {failed}
        stack = [failed]
        while stack:
            current = stack.pop()
            for conn in current.outputs:
                consumer = conn.consumer
                if consumer in seen:
                    continue
                seen.add(consumer)
                if consumer.phase in _SKIPPABLE:
                    self.run.move(consumer, NodeEvent.SKIP)
                else:
                    defer(consumer, Request.SKIP)  # it is evaluating: skipped when that ends
                self._release_inputs(consumer)
                stack.append(consumer)

    def _release_inputs(self, state: NodeState) -> None:
        for conn in state.inputs:
            if conn.needs_final:
                self.scheduler.gathered_final(conn)
            if conn.streaming and conn.lap == conn.producer.lap:
                finish_connection(self.scheduler, conn)

    # ------------------------------------------------------------------ deadlocks (D3)
    def on_stall(self) -> float | None:
        """Kernel stall handler: nothing can run. Busy nodes then mean a deadlock (after a grace)."""
        run = self.run
        if run.stopping:
            return None
        mark = run.loop.steps
        if mark != self._stall_mark:
            self._stall_mark = mark
            self._stall_since = time.monotonic()
            return self.deadlock_grace
        remaining = self.deadlock_grace - (time.monotonic() - self._stall_since)
        if remaining > 0:
            return remaining
        run.end(RunEvent.DEADLOCK, DeadlockError(self._describe_deadlock()))
        return None

    def _describe_deadlock(self) -> str:
        lines = ["the flow cannot make progress; these nodes are waiting:"]
        for state in self.run.states:
            if not (state.phase.busy or state.queued):
                continue
            lines.append(f"  {state.node!r}: {self._describe_wait(state)}")
        lines.append(
            "hint: look for a cycle of nodes that each wait for the other's output, or a node awaiting "
            "something (an Event, a queue) that nothing will ever provide"
        )
        return "\n".join(lines)

    @staticmethod
    def _describe_wait(state: NodeState) -> str:
        phase = state.phase
        if phase is NodePhase.STALLED and state.stalled_on is not None:
            conn = state.stalled_on
            return f"waiting for a chunk from {conn.producer!r} on input {conn.port_index}"
        if phase is NodePhase.HELD:
            behind = [repr(c.consumer) for c in state.stream_outputs if c.holding]
            return f"paused at {state.data.gen}, waiting for {', '.join(behind) or 'a reader'} to read its last chunk"
        if phase is NodePhase.BARRIER:
            behind = [repr(c.consumer) for c in state.outputs if c.needs_final]
            return f"waiting for {', '.join(behind)} to read its previous value before publishing the next"
        task = state.task
        if task is not None:
            return f"running, waiting for {task.describe_wait()}"
        return phase.label
