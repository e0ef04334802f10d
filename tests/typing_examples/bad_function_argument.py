"""A literal of the wrong type for a function node's parameter."""

from flowno_core import FlowHDL, node


@node
async def Length(text: str) -> int:
    return len(text)


with FlowHDL() as f:
    f.length = Length(42)  # expected: Argument 1 to "__call__" of "NodeClass" has incompatible type "int"; expected "str"
