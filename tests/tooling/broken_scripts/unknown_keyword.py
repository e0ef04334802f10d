"""Mistake: a node called with a keyword argument its function does not have."""

from flowno_core import FlowHDL, node


@node
async def Add(a: int, b: int) -> int:
    return a + b


with FlowHDL() as f:
    f.total = Add(1, c=2)
