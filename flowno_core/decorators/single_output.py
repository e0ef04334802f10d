"""flowno's module path ``flowno.decorators.single_output``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import DraftNode, OriginalCall

__all__ = [
    "DraftNode",
    "OriginalCall",
]
