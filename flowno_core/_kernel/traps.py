"""Traps: the only place in flowno_core that yields to the kernel.

Each trap is a one-line generator-based coroutine that yields one command object (see
``commands``) and returns whatever the kernel sends back. Everything else awaits these.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import Any

from .commands import SLEEP_ZERO, Exit, Sleep, Spawn, WaitIO


@types.coroutine
def sleep_trap(seconds: float) -> Generator[Any, Any, float]:
    """Sleep ``seconds`` of loop-clock time; returns the elapsed time."""
    return (yield SLEEP_ZERO if seconds <= 0 else Sleep(seconds))


@types.coroutine
def park_trap(park_command: Any) -> Generator[Any, Any, Any]:
    """Yield a preallocated ``Park`` command; returns the value given to ``reschedule``."""
    return (yield park_command)


@types.coroutine
def spawn_trap(coro: Any) -> Generator[Any, Any, Any]:
    """Start ``coro`` as a task; returns its TaskHandle."""
    return (yield Spawn(coro))


@types.coroutine
def exit_trap(value: Any, exception: BaseException | None) -> Generator[Any, Any, None]:
    """Ask the loop to end (never returns normally)."""
    yield Exit(value, exception)


@types.coroutine
def wait_io_trap(sock: Any, for_write: bool, handle: Any = None) -> Generator[Any, Any, None]:
    """Park until ``sock`` is readable or writable."""
    yield WaitIO(sock, for_write, handle)
