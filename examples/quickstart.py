"""Quickstart: words stream through an upper-casing node to a printer while a counter waits for
the whole text.

Run it with ``python -m flowno_core run examples/quickstart.py`` (or ``python examples/quickstart.py``).
"""

from flowno_core import FlowHDL, Stream, node, sleep


@node
async def Words(text: str):
    """A streaming source: one chunk per word."""
    for word in text.split():
        await sleep(0.05)  # pretend each word takes a moment to arrive (like LLM tokens)
        yield word + " "


@node(stream_in=["words"])
async def Shout(words: Stream[str]):
    """A streaming transformer: each chunk is passed on as soon as it arrives."""
    async for word in words:
        yield word.upper()


@node(stream_in=["words"])
async def Show(words: Stream[str]) -> int:
    """A streaming sink: prints chunks as they come; its value is how many it saw."""
    seen = 0
    async for word in words:
        print(word, end="", flush=True)
        seen += 1
    print()
    return seen


@node
async def Count(text: str) -> int:
    """A plain node: it receives Shout's final value, the concatenation of all its chunks."""
    return len(text.split())


with FlowHDL() as f:
    f.words = Words("streams flow through flowno core while the rest of the graph keeps working")
    f.loud = Shout(f.words)
    f.show = Show(f.loud)
    f.count = Count(f.loud)

if __name__ == "__main__":
    f.run_until_complete()
    print(f"printed {f.show.get_data()[0]} chunks; the final text has {f.count.get_data()[0]} words")
