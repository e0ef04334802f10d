"""flowno_core: a generator-based streaming dataflow engine with its own coroutine event loop.

A source-compatible successor of flowno 0.1.19: ``from flowno_core import node, FlowHDL``.
This module only re-exports; see the submodules for the code.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._kernel.instruments import EventLoopInstrument
from ._kernel.loop import EventLoop, current_event_loop, current_task
from ._kernel.task import TaskHandle
from ._kernel.threads import to_thread
from ._primitives import azip, exit, sleep, spawn
from ._queues import AsyncQueue, AsyncSetQueue
from ._sockets import SocketHandle, socket
from ._timeouts import fail_after, move_on_after
from ._sync import Condition, CountdownLatch, Event, Lock, Semaphore
from .errors import QueueClosedError, TaskCancelled

try:
    __version__ = version("flowno-core")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "AsyncQueue",
    "AsyncSetQueue",
    "Condition",
    "CountdownLatch",
    "Event",
    "EventLoop",
    "EventLoopInstrument",
    "Lock",
    "QueueClosedError",
    "Semaphore",
    "SocketHandle",
    "TaskCancelled",
    "TaskHandle",
    "azip",
    "current_event_loop",
    "current_task",
    "exit",
    "fail_after",
    "move_on_after",
    "sleep",
    "socket",
    "spawn",
    "to_thread",
]
