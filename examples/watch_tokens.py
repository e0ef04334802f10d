"""Watch a streaming node from ordinary (synchronous) code while the flow runs.

Run it with ``python examples/watch_tokens.py``. It finishes at once: the "model" writes on a
``VirtualClock``, so its pauses between tokens take no wall time.

``f.watch(node)`` runs the flow on a thread of its own and hands you, in a plain ``for`` loop, every
chunk and final value the node publishes (``Published`` items with ``generation``, ``value`` and
``is_chunk``). That is how a command-line tool or a UI prints an LLM's answer as it is written.
Leaving the loop early cancels the flow; the second part stops at the first full sentence.

The flow::

    Tokens(text) --chunks--> Redact (hides digits, chunk by chunk) --> watched here
"""

from __future__ import annotations

import re

from flowno_core import FlowHDL, Stream, VirtualClock, node, sleep

ANSWER = "Your order 4711 ships today. It arrives in 2 days. Thanks for waiting."


@node
async def Tokens(text: str):
    """A stand-in for an LLM: one word at a time, 50 ms apart."""
    for index, word in enumerate(text.split(" ")):
        await sleep(0.05)
        yield word if index == 0 else " " + word


@node(stream_in=["tokens"])
async def Redact(tokens: Stream[str]):
    """Hide digits as the tokens pass; the final value is the redacted text."""
    async for token in tokens:
        yield re.sub(r"\d", "#", token)


def build() -> FlowHDL:
    with FlowHDL(clock=VirtualClock()) as f:
        f.tokens = Tokens(ANSWER)
        f.redact = Redact(f.tokens)
    return f


def main() -> None:
    f = build()
    chunks = 0
    print("streaming: ", end="")
    watch = f.watch(f.redact)
    for item in watch:
        if item.is_chunk:
            chunks += 1
            print(item.value, end="", flush=True)  # each token as soon as it is published
        else:
            print(f"\nfinal value at generation {item.generation}: {item.value!r}")
    print(f"{chunks} chunks; run {watch.report.outcome}")

    f = build()
    sentence = ""
    for item in f.watch(f.redact):
        sentence += item.value
        if sentence.endswith("."):
            break  # enough: the flow is cancelled, its tasks clean up
    print(f"first sentence only: {sentence!r}")


if __name__ == "__main__":
    main()
