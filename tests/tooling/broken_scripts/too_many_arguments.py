"""Mistake: a node called with more arguments than its function has parameters."""

from flowno_core import FlowHDL, node


@node
async def Add(a: int, b: int) -> int:
    return a + b


with FlowHDL() as f:
    f.total = Add(1, 2, 3)
