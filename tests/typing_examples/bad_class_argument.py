"""A literal of the wrong type for a class node's parameter (the plugin makes it checked)."""

from flowno_core import FlowHDL, node


@node
class Counter:
    async def call(self, value: str) -> int:
        return len(value)


with FlowHDL() as f:
    f.counter = Counter(123)  # expected: Argument 1 to "Counter" has incompatible type "int"; expected "str"
