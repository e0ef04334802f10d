"""How runs end badly: node errors and deadlocks.

Theory of operation: a node error with ``terminate_on_node_error=True`` ends the run at once (the
original exception, with a note naming node and generation, D4). With ``False`` the failed node
moves to FAILED, its lap is closed (its readers get NodeExecutionError), its dependants are
skipped for the rest of the run (releasing what they held: level-0 barriers and retained chunks),
and the errors are raised when the run ends. A deadlock is a kernel stall (nothing can wake the
loop) while tasks are still waiting: at once when only the flow could end their waits, after
``deadlock_grace`` when another thread still could (``on_stall``).
"""

from __future__ import annotations

import time

from ..._kernel.task import Task
from ...errors import DeadlockError, NodeExecutionError
from ..description.naming import input_name, node_label
from ..rules.generations import Generation
from ..rules.lifecycle import Admission, LapPhase, NodeEvent, NodePhase, Request, RunEvent, RunPhase, apply, defer
from .records import Connection, NodeSlot, NodeState
from .run import Run
from .scheduler import Scheduler
from .streams import close_lap, finish_connection

#: real seconds a run waits on tasks that only another thread could wake before reporting a deadlock
DEADLOCK_GRACE_SECONDS = 5.0

#: real seconds between two looks at a paused run that nothing wakes (resume() wakes it at once)
PAUSED_WAIT = 60.0

#: waitables of the flow itself: a task parked on one can only be woken by the flow
_FLOW_WAITS = (NodeSlot, Connection)

#: phases in which a node can be skipped at once (otherwise it is skipped when its evaluation ends)
_SKIPPABLE = frozenset((NodePhase.IDLE, NodePhase.WAITING, NodePhase.PAUSED, NodePhase.SKIPPED, NodePhase.FAILED))


def add_failure_notes(error: BaseException, state: NodeState, target: Generation) -> None:
    """Name the node and the generation on a node's error (once), with a hint where one helps."""
    notes = getattr(error, "__notes__", ())
    note = f"raised by node {node_label(state.node)} while computing generation {target}"
    if note not in notes:
        error.add_note(note)
    if isinstance(error, RuntimeError) and "no running event loop" in str(error) and ASYNCIO_HINT not in notes:
        error.add_note(ASYNCIO_HINT)
    if isinstance(error, TypeError) and "'async for'" in str(error):
        undeclared = [
            conn for conn in state.inputs if not conn.streaming and conn.producer.draft._is_generator_node()
        ]
        for conn in undeclared:  # it iterated an input fed by a stream without declaring it
            name = input_name(state.node, conn.port_index)
            error.add_note(
                f"hint: input {name} is fed by the streaming node {node_label(conn.producer.node)} but is not "
                f"declared in stream_in, so it receives the final value; to read the chunks as they come, "
                f"write @node(stream_in=[{name}])"
            )


#: the hint for asyncio code awaited directly in a node (it needs an asyncio loop, which ours is not)
ASYNCIO_HINT = (
    "hint: this looks like asyncio code awaited directly in a node; flowno_core's loop is not an asyncio "
    "loop. Await it through the bridge: `await from_asyncio(coroutine)` (from flowno_core import from_asyncio)"
)


class Endings:
    """Node failures and deadlock detection for one flow."""

    def __init__(self, run: Run, scheduler: Scheduler) -> None:
        self.run = run
        self.scheduler = scheduler
        self.deadlock_grace: float | None = DEADLOCK_GRACE_SECONDS
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
        add_failure_notes(error, state, target)
        apply(state, NodeEvent.FAIL, run)
        if run.terminate_on_error:
            run.end(RunEvent.FAIL, error)
            return
        wrapped = NodeExecutionError(state.node, f"node {node_label(state.node)} failed at generation {target}: {error!r}")
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
                    apply(consumer, NodeEvent.SKIP, self.run)
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
        """Kernel stall handler: nothing can wake the loop (no runnable task, timer, socket wait,
        worker thread or open inlet), yet tasks are alive (D3, settled 2026-12-04).

        Node tasks waiting on each other's values, chunks or barriers can only be ended by the flow
        itself: that is a deadlock at once. A task (node or helper) waiting on a general primitive
        (an Event, a queue, a join...) could still be woken from another thread through
        ``create_task``: that is reported only after ``deadlock_grace`` real seconds of nothing
        happening (None: never). Every task of the run counts, not only node tasks.
        """
        run = self.run
        if run.phase is not RunPhase.RUNNING and run.phase is not RunPhase.COMPLETED:
            return None  # the run is being torn down
        if run.admission is Admission.PAUSED:
            return PAUSED_WAIT  # flow.resume() (from another thread) wakes the loop
        outside = self._waiting_on_the_outside()
        if not outside:
            if not run.busy:
                return None  # idle node tasks are not waiting for anything
            self._deadlock([])
            return None
        if self.deadlock_grace is None:
            return None
        mark = run.loop.steps
        if mark != self._stall_mark:
            self._stall_mark = mark
            self._stall_since = time.monotonic()
            return self.deadlock_grace
        remaining = self.deadlock_grace - (time.monotonic() - self._stall_since)
        if remaining > 0:
            return remaining
        self._deadlock(outside)
        return None

    def _waiting_on_the_outside(self) -> list[Task]:
        """The live tasks parked on something other than the flow's own waits (a general primitive)."""
        return [
            task
            for task in self.run.loop.living_tasks()
            if task.parked_in is not None and not isinstance(task.parked_in, _FLOW_WAITS)
        ]

    def _deadlock(self, outside: list[Task]) -> None:
        error = DeadlockError(self._describe_deadlock(outside))
        if not self.run.end(RunEvent.DEADLOCK, error):
            self.run.loop.stop(exception=error)  # the nodes completed, but a helper task hangs

    def describe_waits(self) -> list[str]:
        """A line per node in the middle of something: what it is waiting for."""
        return [f"  {node_label(state.node)}: {self._describe_wait(state)}" for state in self.run.states if state.phase.busy or state.queued]

    def _describe_deadlock(self, outside: list[Task]) -> str:
        lines = ["the flow cannot make progress; these nodes and tasks are waiting:", *self.describe_waits()]
        for task in outside:
            if task.owner is None:  # a task a node (or another thread) started
                lines.append(f"  task {task.name}: waiting for {task.describe_wait()}")
        lines.append(
            "hint: look for a cycle of nodes that each wait for the other's output, or a task awaiting "
            "something (an Event, a queue) that nothing will ever provide; a value fed from another thread "
            "belongs in an Inlet, and flow.deadlock_grace sets how long a wait on other threads may last"
        )
        return "\n".join(lines)

    @staticmethod
    def _describe_wait(state: NodeState) -> str:
        phase = state.phase
        if phase is NodePhase.STALLED and state.stalled_on is not None:
            conn = state.stalled_on
            return f"waiting for a chunk from {node_label(conn.producer.node)} on input {input_name(state.node, conn.port_index)}"
        if phase is NodePhase.HELD:
            behind = [node_label(c.consumer.node) for c in state.stream_outputs if c.holding]
            return f"paused at {state.data.gen}, waiting for {', '.join(behind) or 'a reader'} to read its last chunk"
        if phase is NodePhase.BARRIER:
            behind = [node_label(c.consumer.node) for c in state.outputs if c.needs_final]
            return f"waiting for {', '.join(behind)} to read its previous value before publishing the next"
        task = state.task
        if task is not None:
            return f"running, waiting for {task.describe_wait()}"
        return phase.label
