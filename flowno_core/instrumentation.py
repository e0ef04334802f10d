"""Instrumentation bases and ready-made instruments (flow and event loop).

``from flowno_core.instrumentation import FlowInstrument, EventLoopInstrument``
"""

from ._graph.runtime.instruments import (
    FlowInstrument,
    InstrumentGroup,
    LogInstrument,
    MinimalInstrument,
    PrintInstrument,
    get_current_flow_instrument,
)
from ._kernel.instruments import EventLoopInstrument, get_current_instrument
from ._kernel.instruments import LogInstrument as LoopLogInstrument
from ._kernel.instruments import PrintInstrument as LoopPrintInstrument

__all__ = [
    "EventLoopInstrument",
    "FlowInstrument",
    "InstrumentGroup",
    "LogInstrument",
    "LoopLogInstrument",
    "LoopPrintInstrument",
    "MinimalInstrument",
    "PrintInstrument",
    "get_current_flow_instrument",
    "get_current_instrument",
]
