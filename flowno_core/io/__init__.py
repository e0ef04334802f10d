"""flowno_core.io: HTTP client and server on h11 for flowno_core's event loop.

Source-compatible with ``flowno.io`` (SPEC §1.9, D15): ``HttpClient``, ``Headers``, ``HttpServer``,
``Response``, ``OkStreamingResponse``, ``ErrStreamingResponse``, ``streaming_response_is_ok`` and
``HTTPException`` keep flowno's names and signatures. New: timeouts (``Timeout``,
``HttpTimeoutError``), a small error hierarchy, server-sent events helpers, and a routing server.
This module only re-exports; see the submodules for the code and docs/io.md for a how-to.
"""

from __future__ import annotations

from .body import BodyStream
from .client import HttpClient
from .connection import Timeout
from .errors import (
    HTTPException,
    HttpConnectionError,
    HttpError,
    HttpProtocolError,
    HttpTimeoutError,
    IncompleteBodyError,
    InvalidURL,
    ResponseTooLarge,
    TooManyRedirects,
)
from .headers import Headers
from .limits import ServerLimits
from .server import HttpServer
from .server_messages import ServerRequest, ServerResponse, StreamingResponse, sse_response
from .responses import ErrStreamingResponse, OkStreamingResponse, Response, ResponseBase, streaming_response_is_ok
from .sse import ServerSentEvent, SSEParser, format_event
from .background import ServerThread

__all__ = [
    "BodyStream",
    "ErrStreamingResponse",
    "HTTPException",
    "Headers",
    "HttpClient",
    "HttpConnectionError",
    "HttpError",
    "HttpProtocolError",
    "HttpServer",
    "HttpTimeoutError",
    "IncompleteBodyError",
    "InvalidURL",
    "OkStreamingResponse",
    "Response",
    "ResponseBase",
    "ResponseTooLarge",
    "SSEParser",
    "ServerLimits",
    "ServerRequest",
    "ServerResponse",
    "ServerSentEvent",
    "ServerThread",
    "StreamingResponse",
    "Timeout",
    "TooManyRedirects",
    "format_event",
    "sse_response",
    "streaming_response_is_ok",
]
