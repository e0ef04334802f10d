"""``from_asyncio``: await asyncio code (an SDK client, httpx, aiohttp...) inside a flowno_core task.

Theory of operation: asyncio code only runs on an asyncio event loop, and flowno_core's loop is not
one. The first ``from_asyncio`` of a run starts one asyncio loop on a helper thread
(``AsyncioHelper``), kept for the rest of the run; every call hands its coroutine to that loop
(``asyncio.run_coroutine_threadsafe``: one task each, no thread per call). The calling task parks
until the asyncio task is done (``_kernel.futures.wait_for_future``: an outside wait, so the run
is not taken for deadlocked and a virtual clock waits for the answer). Cancelling the awaiting task
(a node timeout, ``flow.cancel()``, the end of the run) cancels the asyncio task. When the run
ends (``EventLoop.at_run_end``) the helper cancels what is still running on it, lets those tasks
finish their clean-up, closes its loop and joins its thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from ._kernel.futures import wait_for_future
from ._kernel.loop import EventLoop, current_event_loop
from ._kernel.task import CURRENT_TASK

T = TypeVar("T")

logger = logging.getLogger("flowno_core.asyncio")

#: how long the end of a run waits for the asyncio tasks it cancelled to finish their clean-up
CLOSE_GRACE = 10.0


class AsyncioHelper:
    """One asyncio event loop on a helper thread, for the length of one run of a flowno_core loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="flowno_core-asyncio", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=CLOSE_GRACE))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        """Stop the loop (cancelling what still runs on it) and join the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CLOSE_GRACE + 5.0)
        if self._thread.is_alive():
            logger.warning("the asyncio helper thread did not stop within %.0f s (a task ignores cancellation)", CLOSE_GRACE)


_helpers: dict[EventLoop, AsyncioHelper] = {}
_helpers_lock = threading.Lock()


def helper_for(loop: EventLoop) -> AsyncioHelper:
    """The asyncio helper of ``loop``'s current run (started on first use)."""
    with _helpers_lock:
        helper = _helpers.get(loop)
        if helper is None:
            helper = _helpers[loop] = AsyncioHelper()
            loop.at_run_end(lambda: _release(loop))
    return helper


def _release(loop: EventLoop) -> None:
    with _helpers_lock:
        helper = _helpers.pop(loop, None)
    if helper is not None:
        helper.close()


async def from_asyncio(awaitable: Awaitable[T]) -> T:
    """Await asyncio code inside a flowno_core node or task, and return its result.

    The coroutine (or asyncio future) runs on an asyncio loop kept on a helper thread for the rest
    of the run; many calls share it. Its exception is raised here; cancelling the awaiting task
    cancels the asyncio task; the helper stops when the run ends.

    Example::

        import httpx

        @node
        async def Fetch(url: str) -> str:
            async with httpx.AsyncClient() as client:          # an asyncio library
                response = await from_asyncio(client.get(url))
            return response.text

    (Create asyncio objects that bind to a loop, such as a client session, inside the coroutine you
    pass, or reuse them only through ``from_asyncio``: they belong to the helper's loop.)
    """
    loop = current_event_loop()
    if loop is None or CURRENT_TASK.get() is None:
        raise RuntimeError("from_asyncio() must be awaited inside a flowno_core task (a node, or a task of a flow's loop)")
    coroutine = awaitable if asyncio.iscoroutine(awaitable) else _awaiting(awaitable)
    return await wait_for_future(loop, helper_for(loop).submit(coroutine))


async def from_asyncio_stream(iterable: AsyncIterable[T]) -> AsyncIterator[T]:
    """Iterate an asyncio async iterator (a streaming SDK response) inside a flowno_core task.

    Each item is fetched on the run's asyncio helper loop, one at a time (the asyncio side does
    not run ahead of the reader). Leaving the loop early closes the asyncio iterator there (at the
    latest when the run ends).

    Example::

        @node
        async def Tokens(prompt: str):
            async for token in from_asyncio_stream(sdk_client.stream(prompt)):
                yield token                     # streamed on to the flow's readers
    """
    iterator = iterable.__aiter__()
    finished = False
    try:
        while True:
            try:
                item = await from_asyncio(_next_item(iterator))
            except StopAsyncIteration:
                finished = True
                return
            yield item
    finally:
        close = getattr(iterator, "aclose", None)
        loop = current_event_loop()
        if not finished and close is not None and loop is not None:
            # handed over without waiting: this may run while the generator is being closed (no
            # await allowed then); the helper runs it, or closes the iterator when the run ends
            helper_for(loop).submit(close())


async def _next_item(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()


async def _awaiting(awaitable: Awaitable[T]) -> T:
    return await awaitable
