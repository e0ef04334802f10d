"""flowno's module path ``flowno.core.types``: the same names, from flowno_core's own modules."""

from .._graph.description.ports import InputPortIndex, OutputPortIndex
from .._graph.rules.generations import Generation, RunLevel

__all__ = [
    "Generation",
    "InputPortIndex",
    "OutputPortIndex",
    "RunLevel",
]
