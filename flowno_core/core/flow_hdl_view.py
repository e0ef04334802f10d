"""flowno's module path ``flowno.core.flow_hdl_view``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import (
    DraftGroupNode,
    DraftInputPortRef,
    DraftNode,
    DraftOutputPortRef,
)
from .._graph.description.finalized import FinalizedNode
from .._graph.description.namespace import FlowHDLView
from .._graph.description.ports import NodePlaceholder, OutputPortRefPlaceholder
from .._graph.runtime.flow import Flow

__all__ = [
    "DraftGroupNode",
    "DraftInputPortRef",
    "DraftNode",
    "DraftOutputPortRef",
    "FinalizedNode",
    "Flow",
    "FlowHDLView",
    "NodePlaceholder",
    "OutputPortRefPlaceholder",
]
