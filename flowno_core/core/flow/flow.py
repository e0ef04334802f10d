"""flowno's module path ``flowno.core.flow.flow``: the same names, from flowno_core's own modules."""

from ..._graph.description.draft import DraftInputPortRef, DraftNode
from ..._graph.description.finalized import FinalizedInputPort, FinalizedInputPortRef, FinalizedNode
from ..._graph.description.ports import InputPortIndex, OutputPortIndex
from ..._graph.rules.generations import (
    clip_generation,
    cmp_generation,
    inc_generation,
    main_generation,
    parent_generation,
    stitched_generation,
)
from ..._graph.runtime.context import current_context, current_flow, current_node
from ..._graph.runtime.flow import Flow
from ..._graph.runtime.instruments import get_current_flow_instrument
from ..._graph.runtime.streams import Stream
from ..._graph.runtime.task_status import NodeTaskStatus
from ..._kernel.instruments import EventLoopInstrument
from ..._kernel.loop import EventLoop
from ..._queues import AsyncQueue, AsyncSetQueue
from ...errors import (
    MissingDefaultError,
    NodeExecutionError,
    QueueClosedError,
    StreamCancelled,
    TerminateLimitReached,
)
from ...utilities.logging import log_async

__all__ = [
    "AsyncQueue",
    "AsyncSetQueue",
    "DraftInputPortRef",
    "DraftNode",
    "EventLoop",
    "EventLoopInstrument",
    "FinalizedInputPort",
    "FinalizedInputPortRef",
    "FinalizedNode",
    "Flow",
    "InputPortIndex",
    "MissingDefaultError",
    "NodeExecutionError",
    "NodeTaskStatus",
    "OutputPortIndex",
    "QueueClosedError",
    "Stream",
    "StreamCancelled",
    "TerminateLimitReached",
    "clip_generation",
    "cmp_generation",
    "current_context",
    "current_flow",
    "current_node",
    "get_current_flow_instrument",
    "inc_generation",
    "log_async",
    "main_generation",
    "parent_generation",
    "stitched_generation",
]
