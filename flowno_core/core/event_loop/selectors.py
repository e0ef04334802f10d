"""flowno's module path ``flowno.core.event_loop.selectors``: the same names, from flowno_core's own modules."""

from ..._kernel.instrument_events import (
    SocketConnectReadyMetadata,
    SocketConnectStartMetadata,
    SocketRecvDataMetadata,
    SocketSendDataMetadata,
    TLSHandshakeMetadata,
)
from ..._kernel.instruments import get_current_instrument
from ..._sockets import SocketHandle, TLSSocketHandle

__all__ = [
    "SocketConnectReadyMetadata",
    "SocketConnectStartMetadata",
    "SocketHandle",
    "SocketRecvDataMetadata",
    "SocketSendDataMetadata",
    "TLSHandshakeMetadata",
    "TLSSocketHandle",
    "get_current_instrument",
]
