"""Mistake: an input that is neither connected nor defaulted (two of them, in two nodes)."""

from flowno_core import FlowHDL, node


@node
async def Add(a: int, b: int) -> int:
    return a + b


@node
async def Scale(value: int, factor: int) -> int:
    return value * factor


with FlowHDL() as f:
    f.total = Add(1)
    f.scaled = Scale(f.total)
