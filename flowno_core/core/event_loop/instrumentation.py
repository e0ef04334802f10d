"""flowno's module path ``flowno.core.event_loop.instrumentation``: the same names, from flowno_core's own modules."""

from ..._kernel.instrument_events import (
    InstrumentationMetadata,
    ReadySocketInstrumentationMetadata,
    SocketConnectReadyMetadata,
    SocketConnectStartMetadata,
    SocketRecvDataMetadata,
    SocketSendDataMetadata,
    TLSHandshakeMetadata,
    TaskSendMetadata,
    TaskThrowMetadata,
)
from ..._kernel.instruments import _NOOP as EMPTY_INSTRUMENT
from ..._kernel.instruments import (
    EventLoopInstrument,
    LogInstrument,
    PrintInstrument,
    get_current_instrument,
)

__all__ = [
    "EMPTY_INSTRUMENT",
    "EventLoopInstrument",
    "InstrumentationMetadata",
    "LogInstrument",
    "PrintInstrument",
    "ReadySocketInstrumentationMetadata",
    "SocketConnectReadyMetadata",
    "SocketConnectStartMetadata",
    "SocketRecvDataMetadata",
    "SocketSendDataMetadata",
    "TLSHandshakeMetadata",
    "TaskSendMetadata",
    "TaskThrowMetadata",
    "get_current_instrument",
]
