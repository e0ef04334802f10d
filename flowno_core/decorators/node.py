"""flowno's module path ``flowno.decorators.node``: the same names, from flowno_core's own modules."""

from .. import node  # typed for type checkers (flowno_core._node_types)
from .._graph.description.decorator import template
from .._graph.description.draft import DraftGroupNode, DraftNode, OriginalCall

__all__ = [
    "DraftGroupNode",
    "DraftNode",
    "OriginalCall",
    "node",
    "template",
]
