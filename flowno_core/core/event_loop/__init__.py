"""flowno's module path ``flowno.core.event_loop``: the same names, from flowno_core's own modules."""

from ..._kernel.current import current_task
from ..._kernel.loop import EventLoop, current_event_loop
from ..._primitives import exit, sleep, spawn
from ..._sockets import socket

__all__ = [
    "EventLoop",
    "current_event_loop",
    "current_task",
    "exit",
    "sleep",
    "socket",
    "spawn",
]
