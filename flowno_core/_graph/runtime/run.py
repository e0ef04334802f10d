"""One flow's runs: the state its parts share, node moves, and how a run ends.

Theory of operation: a ``Run`` lives as long as its flow and is re-armed by every
``run_until_complete``. It holds what the scheduler, the evaluations and the endings share (the
event loop, the count of busy nodes, the active instrument, the collected errors) and the run's own
lifecycle (``rules.lifecycle.RUN_TABLE``): a run is RUNNING until exactly one ending happens
(completed, limit reached, failed, cancelled, deadlocked). It is the tally every node move
(``rules.lifecycle.apply``) counts in: busy nodes, moves, and the observer that tells the active
instrument of every status change, pause, resume and stall.

When a run ends any other way than by completing, ``end`` first records the *continuation* of every
node (``continuation.capture``: what it was doing, in the order it was scheduled) and only then
stops the kernel, which cancels and closes the node tasks (D13). The next run starts from that
continuation instead of starting every node afresh, so a stopped-and-resumed run does what one
straight run does (D5).
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable
from typing import Any

from ..._kernel.loop import EventLoop
from ..rules.lifecycle import RUN_TABLE, Admission, NodeEvent, NodePhase, RunEvent, RunPhase, follow
from .instruments import FlowInstrument
from .records import NodeState
from . import continuation

RUNNING = RunPhase.RUNNING

#: the flow whose run_until_complete is running (set for the run, always reset after it, D13)
CURRENT_FLOW: contextvars.ContextVar[Any] = contextvars.ContextVar("flowno_core.current_flow", default=None)


class Run:
    """The shared state of a flow's runs (see the module docstring)."""

    def __init__(self, flow: Any, loop: EventLoop) -> None:
        self.flow = flow  # what instruments receive as ``flow``
        self.loop = loop
        self.phase = RunPhase.READY
        self.stopping = True  # not RUNNING: nothing new may start (kept by _move; read on hot paths)
        self.states: list[NodeState] = []
        self.busy = 0
        self.moves = 0  # node transitions so far (a draining run ends when a round makes none)
        self.seq = 0
        self.instrument: FlowInstrument | None = None
        self.observer: Callable[[NodeState, NodePhase, NodeEvent], None] | None = None
        self.terminate_on_error = True
        self.errors: list[BaseException] = []
        self.context_factory: Callable[[Any], Any] | None = None
        self.queue: deque[NodeState] = deque()  # the resolution queue (the scheduler's)
        self.continuation = continuation.Continuation()
        self.admission = Admission.OPEN  # flow.pause() / resume() (``run_control``, through ``set_admission``)
        self.held = True  # stopping, or the admission is not open: no evaluation may begin as it is
        self.now = loop.clock.now  # the loop clock, read where evaluations begin and end
        # the run report's recorder (``control.report.ReportRecorder``): every evaluation that ends
        # is recorded in it (the first run makes it)
        self.recorder: Any = None
        # ``seq`` grows by at least one per evaluation: once it reaches ``trim_at`` the recorder may
        # be at its bound (cheaper to check per evaluation than the recorder's length)
        self.trim_at = 0
        self.cache: Any = None  # the ``control.checkpoint.Store`` of ``@node(cache=True)`` evaluations

    # -- the run's lifecycle --------------------------------------------------------------------
    def start(self, instrument: FlowInstrument | None) -> RunPhase:
        """Begin a run; returns how the previous one ended (READY for none)."""
        previous = self._move(RunEvent.START)
        self.busy = 0
        self.errors = []
        self.instrument = instrument
        self.observer = None if instrument is None else self._observe
        return previous


    def end(self, event: RunEvent, error: BaseException | None = None, stop_kernel: bool = True) -> bool:
        """End the run by ``event`` (the first ending wins) and stop the kernel, which raises ``error``.

        ``stop_kernel=False`` when the run ends because nothing is left to do: the root task then
        closes the node tasks itself and the kernel returns normally.
        """
        if self.phase is not RUNNING:
            return False
        if event is not RunEvent.QUIESCENT:
            self.continuation = continuation.capture(self.states, self.queue)
        self._move(event)
        if stop_kernel:
            self.loop.stop(exception=error)
        return True

    def trim_report(self) -> None:
        """Drop the report's oldest records if it is at its bound; set when to look again."""
        recorder = self.recorder
        if len(recorder.columns) >= recorder.bound:
            recorder.drop_oldest()
        self.trim_at = self.seq + (recorder.bound - len(recorder.columns)) // recorder.WIDTH

    def interrupted(self) -> None:
        """The kernel is shutting the run down by itself (Ctrl-C, a KeyboardInterrupt in a task)."""
        self.end(RunEvent.CANCEL)

    def _move(self, event: RunEvent) -> RunPhase:
        phase = self.phase
        self.phase = new = follow(RUN_TABLE, phase, event, f"the run of {self.flow!r}")
        self.stopping = new is not RUNNING
        self.held = self.stopping or self.admission is not Admission.OPEN
        return phase

    def set_admission(self, admission: Admission) -> None:
        """Set the run's admission (``run_control``: pause and resume)."""
        self.admission = admission
        self.held = self.stopping or admission is not Admission.OPEN

    # -- nodes ----------------------------------------------------------------------------------
    def stamp(self, state: NodeState) -> None:
        """Remember when ``state`` was scheduled or woken (the order of a continuation)."""
        self.seq = seq = self.seq + 1
        state.seq = seq

    def _observe(self, state: NodeState, old: NodePhase, event: NodeEvent) -> None:
        instrument = self.instrument
        assert instrument is not None
        flow, node = self.flow, state.node
        if event is NodeEvent.STALL and state.stalled_on is not None:
            instrument.on_node_stalled(flow, node, node.input(state.stalled_on.port_index))
        elif event is NodeEvent.PAUSE or event is NodeEvent.HOLD and old is NodePhase.RUNNING:
            instrument.on_node_pause(flow, node, 1)
        from .task_status import public_status  # (imported on first use: only instrumented runs need it)

        before, after = public_status(state, old), public_status(state, state.phase)
        if before != after:
            instrument.on_node_status_change(flow, node, before, after)
        if event is NodeEvent.RESUME:
            instrument.on_node_resumed(flow, node, 1)
