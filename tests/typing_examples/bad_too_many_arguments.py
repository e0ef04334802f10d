"""One argument too many for a class node."""

from flowno_core import FlowHDL, node


@node
class Counter:
    async def call(self, value: str) -> int:
        return len(value)


with FlowHDL() as f:
    # expected (mypy): Too many arguments for "Counter"
    # expected (pyright): Expected 1 positional argument
    f.counter = Counter("a", "b")
