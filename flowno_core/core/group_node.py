"""flowno's module path ``flowno.core.group_node``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import DraftGroupNode, DraftNode, OriginalCall

__all__ = [
    "DraftGroupNode",
    "DraftNode",
    "OriginalCall",
]
