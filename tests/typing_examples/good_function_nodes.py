"""Function nodes, values and streams, wired correctly: no error."""

from collections.abc import AsyncIterator
from typing import TypeVar

from flowno_core import FlowHDL, Output, Stream, StreamOutput, node


@node
async def Words(text: str) -> AsyncIterator[str]:
    for word in text.split():
        yield word


@node(stream_in=["words"])
async def Shout(words: Stream[str]) -> AsyncIterator[str]:
    async for word in words:
        yield word.upper()


@node
async def Length(text: str, extra: int = 0) -> int:
    return len(text) + extra


@node(stream_in=["numbers"])
async def Total(numbers: Stream[int]) -> int:
    return sum([number async for number in numbers])


T = TypeVar("T")


@node(stream_in=["items"])
async def Last(items: Stream[T]) -> T:  # a generic node (mypy: through the plugin)
    seen = [item async for item in items]
    return seen[-1]


@node
async def Same(value: T) -> T:  # generic under bare @node (mypy: through the plugin)
    return value


@node
async def Events() -> AsyncIterator[dict[str, int]]:
    yield {"reading": 1}
    yield {"reading": 2}


@node
async def Readings(events: list[dict[str, int]]) -> int:  # the final value of a stream of dicts: a list
    return sum(event["reading"] for event in events)


@node
async def Add(x: int, y: int = 1) -> int:
    return x + y


with FlowHDL() as f:
    f.words = Words("a few words")
    f.loud = Shout(f.words)  # a stream of str into a Stream[str] port
    f.length = Length(f.loud)  # its final value (a str) into a str port
    f.longer = Length("literal", 3)
    f.total = Total(f.length)  # a value producer feeds a stream port as a one-item stream
    f.counter = Add(f.counter_later, 1)  # a forward reference fits any port
    f.counter_later = Add(f.length)
    f.events = Events()
    f.readings = Readings(f.events)
    f.same = Same(f.length)
    f.again = Add(f.same)
    f.last_word = Last(f.loud)
    f.last_length = Length(f.last_word)  # typed Output[str] by pyright, Output[Any] by mypy

words: StreamOutput[str] = f.words
length: Output[int] = f.length
f.run_until_complete()
print(f.length.get_data(), f.total.get_data(), f.counter.get_data(), f.readings.get_data())
