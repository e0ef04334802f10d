"""flowno's module path ``flowno.core.event_loop.primitives``: the same names, from flowno_core's own modules."""

from ..._kernel.task import TaskHandle
from ..._primitives import (
    azip,
    exit,
    sleep,
    spawn,
)
from ..._sockets import SocketHandle, TLSSocketHandle, socket

__all__ = [
    "SocketHandle",
    "TLSSocketHandle",
    "TaskHandle",
    "azip",
    "exit",
    "sleep",
    "socket",
    "spawn",
]
