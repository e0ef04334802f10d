"""flowno's module path ``flowno.core.mono_node``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import DraftNode, DraftOutputPortRef

__all__ = [
    "DraftNode",
    "DraftOutputPortRef",
]
