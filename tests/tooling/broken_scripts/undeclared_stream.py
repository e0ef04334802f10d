"""Mistake (a warning): a node iterates a parameter with `async for` without declaring it in stream_in."""

from flowno_core import FlowHDL, node


@node
async def Words(text: str):
    for word in text.split():
        yield word


@node
async def Shout(words):
    async for word in words:
        yield word.upper()


with FlowHDL() as f:
    f.words = Words("a stream of words")
    f.loud = Shout(f.words)
