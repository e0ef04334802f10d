"""Mistake (a warning): a stream_in input fed by a node that does not stream."""

from flowno_core import FlowHDL, Stream, node


@node
async def Text() -> str:
    return "not a stream"


@node(stream_in=["words"])
async def Shout(words: Stream[str]):
    async for word in words:
        yield word.upper()


with FlowHDL() as f:
    f.text = Text()
    f.loud = Shout(f.text)
