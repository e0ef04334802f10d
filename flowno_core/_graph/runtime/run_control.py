"""Control of a running flow from outside it: cancel, pause and resume, and the run's own timeout.

Theory of operation: every request is applied on the loop thread, at a safe point between task
steps (``call_soon_threadsafe`` from another thread or a signal handler; directly from the loop's
own thread). ``cancel(reason)`` ends the run by ``RunEvent.CANCEL`` with ``FlowCancelled``: the
kernel then cancels every node task where it waits, their ``finally`` blocks run, and the next run
continues where this one stopped (D5). ``pause()`` moves the run's admission to ``PAUSED``
(``rules.lifecycle.ADMISSION_TABLE``): a node task about to begin an evaluation parks instead
(``Evaluator.evaluate`` asks ``admit``), evaluations already running go on; ``resume()`` reopens
the admission and wakes the parked tasks. A paused run is never reported as deadlocked. The run's
``timeout`` is a timer on the loop's clock that ends the run by ``RunEvent.TIMEOUT`` with
``FlowTimeoutError``, whose note lists what the nodes were doing.
"""

from __future__ import annotations

from typing import Any

from ..._kernel.timers import TimerHandle
from ..._kernel.traps import park_trap
from ...errors import FlowCancelled, FlowTimeoutError
from ..rules.lifecycle import ADMISSION_TABLE, Admission, AdmissionEvent, RunEvent, RunPhase, follow
from .endings import Endings
from .records import NodeState
from .run import Run


class RunControl:
    """Cancel, pause/resume and the run timeout of one flow."""

    def __init__(self, run: Run, endings: Endings) -> None:
        self.run = run
        self.endings = endings
        self._timer: TimerHandle | None = None
        self._waiting: list[NodeState] = []  # node tasks parked at admission

    # ------------------------------------------------------------------ requests (any thread)
    def cancel(self, reason: Any = None) -> bool:
        """End the run in progress with FlowCancelled(reason); False when no run is in progress."""
        return self._request(self._cancel_now, reason)

    def pause(self) -> bool:
        """Let no new evaluation begin until ``resume``; False when no run is in progress."""
        return self._request(self._move_admission, AdmissionEvent.PAUSE)

    def resume(self) -> bool:
        """Let evaluations begin again; False when no run is in progress."""
        return self._request(self._move_admission, AdmissionEvent.RESUME)

    def _request(self, action: Any, argument: Any) -> bool:
        run = self.run
        if run.phase is not RunPhase.RUNNING:
            return False
        loop = run.loop
        if loop.on_loop_thread():
            action(argument)
        else:
            loop.call_soon_threadsafe(action, argument)
        return True

    # ------------------------------------------------------------------ on the loop thread
    def _cancel_now(self, reason: Any) -> None:
        self.run.end(RunEvent.CANCEL, FlowCancelled(reason))

    def _move_admission(self, event: AdmissionEvent) -> None:
        run = self.run
        if run.phase is not RunPhase.RUNNING:
            return
        run.set_admission(follow(ADMISSION_TABLE, run.admission, event, f"the admission of {run.flow!r}"))
        if run.admission is Admission.OPEN:
            waiting, self._waiting = self._waiting, []
            for state in waiting:
                state.slot.wake()

    async def admit(self, state: NodeState) -> None:
        """Park the node's task until the admission is open (called only while it is paused)."""
        run = self.run
        while run.admission is Admission.PAUSED and not run.stopping:
            self._waiting.append(state)
            await park_trap(state.slot.park_command)

    # ------------------------------------------------------------------ the run's timeout
    def begin(self, timeout: float | None) -> None:
        """A run begins: open the admission, arm the run's timeout."""
        self.run.set_admission(Admission.OPEN)
        self._waiting = []
        if timeout is not None:
            self._timer = self.run.loop.call_later(timeout, self._time_out, timeout)

    def finish(self) -> None:
        """The run ended: disarm the timeout, reopen the admission for the next run."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.run.set_admission(Admission.OPEN)
        self._waiting = []

    def _time_out(self, timeout: float) -> None:
        error = FlowTimeoutError(timeout)
        waiting = self.endings.describe_waits()
        if waiting:
            error.add_note("when it expired:\n" + "\n".join(waiting))
        self.run.end(RunEvent.TIMEOUT, error)


def check_timeout(timeout: Any) -> float | None:
    """A run timeout as given to ``run_until_complete`` (seconds > 0, or None)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout={timeout!r}: the run's timeout must be a number of seconds > 0, or None")
    return float(timeout)
