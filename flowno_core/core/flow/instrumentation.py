"""flowno's module path ``flowno.core.flow.instrumentation``: the same names, from flowno_core's own modules."""

from ..._graph.runtime.instruments import (
    FlowInstrument,
    LogInstrument,
    MinimalInstrument,
    NO_OP_INSTRUMENT,
    PrintInstrument,
    get_current_flow_instrument,
)

__all__ = [
    "FlowInstrument",
    "LogInstrument",
    "MinimalInstrument",
    "NO_OP_INSTRUMENT",
    "PrintInstrument",
    "get_current_flow_instrument",
]
