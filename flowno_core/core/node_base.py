"""flowno's module path ``flowno.core.node_base``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import (
    Constant,
    DraftInputPort,
    DraftInputPortRef,
    DraftNode,
    DraftOutputPortRef,
    OriginalCall,
)
from .._graph.description.finalized import (
    FinalizedInputPort,
    FinalizedInputPortRef,
    FinalizedNode,
    FinalizedOutputPortRef,
)
from .._graph.description.ports import (
    InputPortIndex,
    NodePlaceholder,
    OutputPortIndex,
    OutputPortRefPlaceholder,
)
from .._graph.rules.generations import (
    clip_generation,
    cmp_generation,
    inc_generation,
    parent_generation,
    stitched_generation,
)
from .._graph.runtime.instruments import get_current_flow_instrument
from .._graph.runtime.streams import Stream
from .._sync import CountdownLatch
from ..errors import MissingDefaultError, StreamCancelled

__all__ = [
    "Constant",
    "CountdownLatch",
    "DraftInputPort",
    "DraftInputPortRef",
    "DraftNode",
    "DraftOutputPortRef",
    "FinalizedInputPort",
    "FinalizedInputPortRef",
    "FinalizedNode",
    "FinalizedOutputPortRef",
    "InputPortIndex",
    "MissingDefaultError",
    "NodePlaceholder",
    "OriginalCall",
    "OutputPortIndex",
    "OutputPortRefPlaceholder",
    "Stream",
    "StreamCancelled",
    "clip_generation",
    "cmp_generation",
    "get_current_flow_instrument",
    "inc_generation",
    "parent_generation",
    "stitched_generation",
]
