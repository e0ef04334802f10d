"""flowno's module path ``flowno.io.http_client``: the same names, from flowno_core's own modules."""

from .._sockets import SocketHandle, socket
from ..io.client import HttpClient
from ..io.errors import HTTPException
from ..io.headers import Headers
from ..io.responses import (
    ErrStreamingResponse,
    OkStreamingResponse,
    Response,
    ResponseBase,
    streaming_response_is_ok,
)

__all__ = [
    "ErrStreamingResponse",
    "HTTPException",
    "Headers",
    "HttpClient",
    "OkStreamingResponse",
    "Response",
    "ResponseBase",
    "SocketHandle",
    "socket",
    "streaming_response_is_ok",
]
