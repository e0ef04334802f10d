"""Quickstart: a producer streams words through a queue to a consumer on flowno_core's loop.

Run it with ``python examples/quickstart.py``.
"""

from flowno_core import AsyncQueue, EventLoop, sleep, spawn


async def produce(queue: AsyncQueue[str]) -> None:
    for word in "streams flow through flowno_core".split():
        await queue.put(word)
        await sleep(0.01)
    await queue.close()


async def main() -> str:
    queue: AsyncQueue[str] = AsyncQueue(maxsize=2)
    await spawn(produce(queue))
    words = []
    async for word in queue:
        print("got", word)
        words.append(word)
    return " ".join(words)


if __name__ == "__main__":
    print(EventLoop().run_until_complete(main(), join=True))
