"""flowno's module path ``flowno.decorators.node_meta_multiple_dec``: the same names, from flowno_core's own modules."""

from .._graph.description.draft import DraftNode

__all__ = [
    "DraftNode",
]
