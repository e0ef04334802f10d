"""One ``run_until_complete``: its root task, its options, how it ended and what it gives back.

Theory of operation: ``EventLoop.run_until_complete`` makes a ``Run`` record when it starts and
drops it when it returns, so nothing of one run leaks into the next. The loop records how the run
ends on it (``end_with`` for ``stop``/``exit``, ``fatal`` for a KeyboardInterrupt or SystemExit
escaping a task, ``interrupted`` for Ctrl-C); ``outcome`` turns that, and the root task's own
ending, into the value ``run_until_complete`` returns or the exception it raises.
"""

from __future__ import annotations

from typing import Any

from .cancellation import ShutdownCancel
from .task import Task, TaskStatus


class Run:
    """The record of one ``run_until_complete``."""

    __slots__ = ("root", "wait_for_spawned", "max_wait", "exit", "fatal", "interrupted")

    def __init__(self, root: Task, wait_for_spawned: bool, max_wait: float | None) -> None:
        self.root = root
        self.wait_for_spawned = wait_for_spawned
        self.max_wait = max_wait  # cap on one blocking wait (``_debug_max_wait_time``)
        self.exit: tuple[Any, BaseException | None] | None = None
        self.fatal: BaseException | None = None
        self.interrupted = False

    def end_with(self, value: Any, exception: BaseException | None) -> None:
        """Record how the run ends (``stop``, ``exit``); the first ending wins."""
        if self.exit is None:
            self.exit = (value, exception)

    def outcome(self, join: bool) -> Any:
        """What ``run_until_complete`` returns, or raises."""
        if self.fatal is not None:
            raise self.fatal
        if self.interrupted:
            raise KeyboardInterrupt
        if self.exit is not None:
            value, exception = self.exit
            if exception is not None:
                raise exception
            return value if join else None
        if not join:
            return None
        root = self.root
        if root.status is TaskStatus.FINISHED:
            return root.result
        if root.error is not None and not isinstance(root.error, ShutdownCancel):
            raise root.error
        raise RuntimeError("Event loop exited without completing the root task.")
