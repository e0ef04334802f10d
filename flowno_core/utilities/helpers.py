"""flowno's module path ``flowno.utilities.helpers``: the same names, from flowno_core's own modules."""

from .._graph.rules.generations import (
    clip_generation,
    cmp_generation,
    inc_generation,
    main_generation,
    parent_generation,
    stitched_generation,
)

__all__ = [
    "clip_generation",
    "cmp_generation",
    "inc_generation",
    "main_generation",
    "parent_generation",
    "stitched_generation",
]
