"""Class nodes (checked through flowno_core.mypy_plugin), multiple outputs, templates and
hand-written nodes: no error."""

from collections.abc import AsyncIterator
from typing import Any

from flowno_core import DraftNode, FlowHDL, Output, Stream, node


@node(multiple_outputs=True)
async def Split(text: str) -> tuple[str, int]:
    return text, len(text)


@node
class Counter:
    count = 0

    async def call(self, value: str, step: int = 1) -> int:
        self.count += step
        return self.count


@node(stream_in=["chunks"])
class Joiner:
    async def call(self, chunks: Stream[str]) -> AsyncIterator[str]:
        async for chunk in chunks:
            yield chunk + " "


@node(multiple_outputs=True)
class Pair:  # unannotated: its inputs and outputs are Any (this once crashed mypy's plugin)
    async def call(self, x):
        return x, x


@node(multiple_outputs=True)
class Halves:  # typed, several outputs: wired as a whole it is its output 0 (typed Any)
    async def call(self, text: str) -> tuple[str, str]:
        middle = len(text) // 2
        return text[:middle], text[middle:]


@node
async def Untyped(x, y=1):
    return x + y


@node
async def Many(*values: int) -> int:
    return sum(values)


@node
async def Describe(count: int) -> str:
    return f"{count} so far"


@node.template
def CountTwice(view: Any, text: Any) -> Any:
    view.first = Counter(text)
    return Counter(text, 2)


class Increment(DraftNode[int, tuple[int]]):
    async def call(self, x: int) -> tuple[int]:  # type: ignore[override]
        return (x + 1,)


with FlowHDL() as f:
    f.parts = Split("hello")
    f.counter = Counter(f.parts.output(0))
    f.stepped = Counter("x", 2)
    f.joined = Joiner(f.parts.output(0))
    f.described = Describe(f.counter)  # a class node returning int into an int port
    f.many = Many(1, 2, f.stepped)
    f.twice = CountTwice(f.parts.output(0))
    f.increment = Increment(f.many)
    f.pair = Pair(f.many)
    f.halves = Halves("abcd")
    f.first_half = Counter(f.halves)
    f.untyped = Untyped(f.pair.output(0), f.pair.output(1))

counted: Output[int] = f.counter
f.run_until_complete()
print(f.counter.count, f.described.get_data(), f.untyped.get_data())
