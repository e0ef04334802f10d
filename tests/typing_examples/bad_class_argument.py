"""A literal of the wrong type for a class node's parameter (mypy checks it through the plugin)."""

from flowno_core import FlowHDL, node


@node
class Counter:
    async def call(self, value: str) -> int:
        return len(value)


with FlowHDL() as f:
    # expected (mypy): Argument 1 to "Counter" has incompatible type "int"; expected "str | Output[str]"
    # expected (pyright): Argument of type "Literal[123]" cannot be assigned to parameter "a1" of type "str | Output[str]"
    f.counter = Counter(123)
