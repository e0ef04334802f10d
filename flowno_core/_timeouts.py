"""Timeouts for any block of async code: ``fail_after`` and ``move_on_after``.

Theory of operation: entering the block arms a loop timer. If it fires while the block is still
running, the timer throws a private ``_Expired`` exception into the task (at once if the task is
parked, else at its next checkpoint, exactly like cancellation). Leaving the block disarms the
timer, retracts an expiry that was not delivered yet, and turns *its own* ``_Expired`` into
``TimeoutError`` (``fail_after``) or swallows it (``move_on_after``). Nested scopes are independent:
each only recognises the exception it threw. When several expiries are due before the task could
receive one, the outermost scope's wins (it unwinds the inner blocks too), so an outer expiry is
never dropped. A pending ``TaskCancelled`` always wins over a timeout.
"""

from __future__ import annotations

import itertools
from types import TracebackType
from typing import Any

from ._kernel.loop import current_event_loop
from ._kernel.task import CURRENT_TASK, Task
from .errors import TaskCancelled

_entry_order = itertools.count()  # scopes alive on one task are nested: entered earlier = outer


class _Expired(BaseException):
    """Thrown into a task whose timeout scope expired (BaseException: user ``except Exception``
    blocks inside the scope must not swallow it)."""

    def __init__(self, scope: "_TimeoutScope") -> None:
        super().__init__(f"timeout after {scope.seconds}s")
        self.scope = scope


class _TimeoutScope:
    _raise_on_expiry = True

    def __init__(self, seconds: float, what: str | None = None) -> None:
        self.seconds = seconds
        self.what = what
        self.expired = False
        self._task: Task | None = None
        self._timer: Any = None
        self._error: _Expired | None = None
        self._order = 0

    def __enter__(self) -> "_TimeoutScope":
        task = CURRENT_TASK.get()
        loop = current_event_loop()
        if task is None or loop is None:
            raise RuntimeError(f"{type(self).__name__} must be used inside a flowno_core task")
        self._task = task
        self._order = next(_entry_order)
        self._timer = loop.call_later(self.seconds, self._fire)
        return self

    def _fire(self) -> None:
        task = self._task
        if task is None or task.status.value != "pending":
            return
        self.expired = True
        error = self._error = _Expired(self)
        queued, pending = task.throw_exc, task.cancel_pending  # thrown at once / at the next checkpoint
        for other in (queued, pending):
            if isinstance(other, TaskCancelled):
                return  # a cancellation is already on its way; it wins
            if isinstance(other, _Expired) and other.scope._order < self._order:
                return  # an enclosing scope's expiry is on its way; it unwinds this block too
        if isinstance(queued, _Expired):
            task.throw_exc = error  # an inner scope's expiry was not delivered yet: ours replaces it
            return
        task.loop.throw_into(task, error)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        self._timer.cancel()
        task, self._task = self._task, None
        if task is not None and self._error is not None and task.cancel_pending is self._error:
            task.cancel_pending = None  # expired after the block's last checkpoint: retract
        if isinstance(exc, _Expired) and exc.scope is self:
            if self._raise_on_expiry:
                label = f" ({self.what})" if self.what else ""
                raise TimeoutError(f"timed out after {self.seconds:g}s{label}") from None
            return True
        return False

    async def __aenter__(self) -> "_TimeoutScope":
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return self.__exit__(exc_type, exc, tb)


class fail_after(_TimeoutScope):  # noqa: N801 - reads like a statement: `with fail_after(5):`
    """Raise ``TimeoutError`` if the block takes longer than ``seconds`` of loop time.

    Example::

        async def main():
            with fail_after(1.0, "waiting for the reply"):
                reply = await sock.recv(1024)
    """


class move_on_after(_TimeoutScope):  # noqa: N801
    """Leave the block silently after ``seconds``; ``.expired`` tells whether it timed out.

    Example::

        async def main():
            with move_on_after(0.5) as scope:
                await event.wait()
            if scope.expired:
                ...
    """

    _raise_on_expiry = False
