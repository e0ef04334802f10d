"""flowno's module path ``flowno.core.flow_hdl``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import DraftInputPortRef, DraftNode
from .._graph.description.finalized import FinalizedNode
from .._graph.description.namespace import FlowHDLView
from .._graph.description.ports import NodePlaceholder, OutputPortRefPlaceholder
from .._graph.runtime.flow import Flow
from .._graph.runtime.flowhdl import FlowHDL
from .._kernel.task import TaskHandle

__all__ = [
    "DraftInputPortRef",
    "DraftNode",
    "FinalizedNode",
    "Flow",
    "FlowHDL",
    "FlowHDLView",
    "NodePlaceholder",
    "OutputPortRefPlaceholder",
    "TaskHandle",
]
