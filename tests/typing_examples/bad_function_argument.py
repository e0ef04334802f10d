"""A literal of the wrong type for a function node's parameter."""

from flowno_core import FlowHDL, node


@node
async def Length(text: str) -> int:
    return len(text)


with FlowHDL() as f:
    # expected (mypy): Argument 1 to "__call__" of "Node1" has incompatible type "int"; expected "str | Output[str]"
    # expected (pyright): Argument of type "Literal[42]" cannot be assigned to parameter "a1" of type "str | Output[str]"
    f.length = Length(42)
