"""Function nodes, values and streams, wired correctly: no error."""

from collections.abc import AsyncIterator

from flowno_core import FlowHDL, Stream, node


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


with FlowHDL() as f:
    f.words = Words("a few words")
    f.loud = Shout(f.words)
    f.length = Length(f.loud)
    f.longer = Length("literal", 3)
