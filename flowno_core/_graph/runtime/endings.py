"""How runs end badly: node errors, limits reached, deadlocks.

Theory of operation: a generation limit, a gather error, a node error with
``terminate_on_node_error=True`` and a deadlock all stop the kernel at once (``_terminate``); the
kernel then cancels and closes every task. With ``terminate_on_node_error=False`` a failed node is
marked failed, its lap is closed (readers get NodeExecutionError), its dependants are skipped for
the rest of the run (releasing what they held: level-0 barriers and retained chunks), and the
errors are raised when the run ends. A deadlock is a kernel stall (nothing runnable, no timer,
socket or thread) while nodes are still busy, confirmed after a short real-time grace.

``Endings`` is a mixin of ``Flow`` (runtime.py), which owns the attributes it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import time

from ..._kernel.loop import EventLoop
from ...errors import DeadlockError, NodeExecutionError
from ..rules.generations import Generation
from .instruments import FlowInstrument
from .records import Connection, NodeState, Phase
from .streams import close_lap, finish_connection


class Endings:
    """Errors, limits and deadlocks (a mixin of Flow)."""

    event_loop: EventLoop
    _states: list[NodeState]
    _stopping: bool
    _running: bool
    _done: bool
    _instrument: FlowInstrument | None
    _terminate_on_error: bool
    _errors: list[BaseException]
    _stall_mark: int
    _stall_since: float
    deadlock_grace: float

    if TYPE_CHECKING:  # provided by the other mixin of Flow

        def _gathered_final(self, conn: Connection) -> None:  # pragma: no cover - provided by Scheduler
            ...

    def _terminate(self, error: BaseException) -> None:
        """End the run now with ``error`` (limit, fatal node error, gather error, deadlock)."""
        if self._stopping:
            return
        self._stopping = True
        self.event_loop.stop(exception=error)

    def _node_failed(self, state: NodeState, error: BaseException, target: Generation) -> None:
        instrument = self._instrument
        if instrument is not None:
            instrument.on_node_error(self, state.node, error)
        note = f"raised by node {state.node!r} while computing generation {target}"
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
        state.phase = Phase.FAILED
        if self._terminate_on_error:
            self._terminate(error)
            return
        wrapped = NodeExecutionError(state.node, f"node {state.node!r} failed at generation {target}: {error!r}")
        wrapped.__cause__ = error
        self._errors.append(wrapped)
        if state.lap_open:
            close_lap(state)
        self._skip_dependants(state)

    def _skip_dependants(self, failed: NodeState) -> None:
        self._release_inputs(failed)
        stack = [failed]
        while stack:
            current = stack.pop()
            for conn in current.outputs:
                consumer = conn.consumer
                if consumer.skipped or consumer is failed:
                    continue
                consumer.skipped = True
                self._release_inputs(consumer)
                stack.append(consumer)

    def _release_inputs(self, state: NodeState) -> None:
        for conn in state.inputs:
            if conn.needs_final:
                self._gathered_final(conn)
            if conn.streaming and conn.lap == conn.producer.lap:
                finish_connection(self, conn)  # type: ignore[arg-type]

    def _on_stall(self) -> float | None:
        """Kernel stall handler: nothing can run. Busy nodes then mean a deadlock (after a grace)."""
        if not self._running or self._done or self._stopping:
            return None
        mark = self.event_loop.steps
        if mark != self._stall_mark:
            self._stall_mark = mark
            self._stall_since = time.monotonic()
            return self.deadlock_grace
        remaining = self.deadlock_grace - (time.monotonic() - self._stall_since)
        if remaining > 0:
            return remaining
        self._terminate(DeadlockError(self._describe_deadlock()))
        return None

    def _describe_deadlock(self) -> str:
        lines = ["the flow cannot make progress; these nodes are waiting:"]
        for state in self._states:
            if not (state.busy or state.queued):
                continue
            lines.append(f"  {state.node!r}: {self._describe_wait(state)}")
        lines.append(
            "hint: look for a cycle of nodes that each wait for the other's output, or a node awaiting "
            "something (an Event, a queue) that nothing will ever provide"
        )
        return "\n".join(lines)

    def _describe_wait(self, state: NodeState) -> str:
        phase = state.phase
        if phase is Phase.STALLED and state.stalled_on is not None:
            conn = state.stalled_on
            return f"waiting for a chunk from {conn.producer!r} on input {conn.port_index}"
        if phase is Phase.PAUSED:
            behind = [repr(c.consumer) for c in state.stream_outputs if c.holding]
            return f"paused at {state.data.gen}, waiting for {', '.join(behind) or 'a reader'} to read its last chunk"
        if phase is Phase.BARRIER:
            behind = [repr(c.consumer) for c in state.outputs if c.needs_final]
            return f"waiting for {', '.join(behind)} to read its previous value before publishing the next"
        task = state.task
        if task is not None:
            return f"running, waiting for {task.describe_wait()}"
        return f"{phase.value}"
