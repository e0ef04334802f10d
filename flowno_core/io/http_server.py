"""flowno's module path ``flowno.io.http_server``: the same names, from flowno_core's own modules."""

from .._kernel.task import TaskHandle
from .._primitives import spawn
from .._sockets import SocketHandle, socket
from ..io.headers import Headers
from ..io.server import HttpServer

__all__ = [
    "Headers",
    "HttpServer",
    "SocketHandle",
    "TaskHandle",
    "socket",
    "spawn",
]
