"""The small set of command objects a task may yield to the kernel.

Theory of operation: a task talks to the kernel only by yielding one of these objects; the kernel
looks the handler up by ``type(command)`` in one explicit table (``EventLoop._dispatch``) and a test
checks that the table covers every class listed in ``ALL_COMMANDS``. Everything richer (events,
locks, queues, joins, stream reads) is async code built on ``Park``: the primitive registers the
task with a *waitable* (see ``parking.Waitable``) and the kernel only remembers where the task is
parked, so cancellation can take it out again. This module imports nothing from the kernel.

Hot commands are preallocated (``SLEEP_ZERO``; each waitable owns its ``Park`` command), so the
common paths allocate nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)  # slots written out: slots=True would build the class twice
class Sleep:
    """Park the task for ``seconds`` on the loop's clock; it is resumed with the elapsed time."""

    __slots__ = ("seconds",)

    seconds: float


@dataclass(frozen=True)  # slots written out: slots=True would build the class twice
class Park:
    """Park the task on ``waitable`` (a ``parking.Waitable``) until something calls ``reschedule``."""

    __slots__ = ("waitable",)

    waitable: Any


@dataclass(frozen=True)  # slots written out: slots=True would build the class twice
class Spawn:
    """Start ``coro`` as a new task; it runs before the spawner, which gets the ``TaskHandle``."""

    __slots__ = ("coro",)

    coro: Any


@dataclass(frozen=True)  # slots written out: slots=True would build the class twice
class Exit:
    """End the loop: raise ``exception`` out of run_until_complete, or return ``value``."""

    __slots__ = ("value", "exception")

    value: Any
    exception: BaseException | None


@dataclass(frozen=True, slots=True)  # (slots=True: its default value rules out written-out slots)
class WaitIO:
    """Park until ``sock`` is readable (``for_write`` False) or writable (True)."""

    sock: Any
    for_write: bool
    handle: Any = None


SLEEP_ZERO = Sleep(0.0)

ALL_COMMANDS: tuple[type, ...] = (Sleep, Park, Spawn, Exit, WaitIO)
