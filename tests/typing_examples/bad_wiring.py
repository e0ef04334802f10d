"""Outputs carry their node's return type: wiring an int where a str is expected is reported."""

from collections.abc import AsyncIterator

from flowno_core import FlowHDL, Stream, node


@node
async def Length(text: str) -> int:
    return len(text)


@node
async def Words(text: str) -> AsyncIterator[str]:
    yield text


@node(stream_in=["numbers"])
async def Total(numbers: Stream[int]) -> int:
    return sum([number async for number in numbers])


@node
class Counter:
    async def call(self, value: str) -> int:
        return len(value)


with FlowHDL() as f:
    f.length = Length("hello")
    f.words = Words("a b")
    f.counter = Counter("x")
    # expected (mypy): Argument 1 to "__call__" of "Node1" has incompatible type "Output[int]"; expected "str | Output[str]"
    # expected (pyright): Argument of type "Output[int]" cannot be assigned to parameter "a1" of type "str | Output[str]"
    f.again = Length(f.length)
    # (mypy lets a StreamOutput fit any parameter: see docs/typing.md)
    # expected (pyright): Argument of type "StreamOutput[str]" cannot be assigned to parameter "a1" of type "Stream[int] | Output[Stream[int]]"
    f.total = Total(f.words)
    # expected (mypy): Argument 1 to "Counter" has incompatible type "Output[int]"; expected "str | Output[str]"
    # expected (pyright): Argument of type "Output[int]" cannot be assigned to parameter "a1" of type "str | Output[str]"
    f.counted = Counter(f.counter)


@node(stream_in=["items"])
async def Last(items: Stream[str]) -> str | None:
    seen = [item async for item in items]
    return seen[-1] if seen else None


with FlowHDL() as g:
    g.words = Words("a b")
    g.last = Last(g.words)
    # expected (mypy): Argument 1 to "__call__" of "Node1" has incompatible type "Output[str | None]"; expected "str | Output[str]"
    # expected (pyright): Argument of type "Output[str | None]" cannot be assigned to parameter "a1" of type "str | Output[str]"
    g.length = Length(g.last)
