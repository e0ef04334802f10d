"""``flow.watch(node)``: iterate what one node publishes while its flow runs.

Theory of operation: a ``Watch`` runs ``run_until_complete`` on a thread of its own and observes
the node (``records.observe``): every final value and chunk it publishes is put, as a ``Published``
item, on a bounded thread-safe queue that the consumer reads. The queue is the back-pressure: when
it is full the flow's loop waits for the consumer, checking every few milliseconds whether the
watch was closed. The end of the run puts an end mark (with the run's exception, if it raised):
the iteration ends, or raises it, after the last item. Leaving the iteration early (``break``, an
exception, ``close()``) cancels the flow (``flow.cancel``: its nodes' ``finally`` blocks run) and
joins the thread; the flow can be run again later and continues where it stopped.

The consumer may be plain synchronous code (``for``), or async code on asyncio's loop or on a
flowno_core loop (``async for``): async reads wait for the queue on a worker thread of whichever
loop is running.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

from .records import NodeState, observe, unobserve

#: how many items may wait for the consumer before the flow waits for it
BUFFER = 256
_POLL = 0.01  # seconds between checks of a closed watch, while the flow waits on a full buffer


class Published(NamedTuple):
    """One value a watched node published: a chunk (``generation`` ``(k, j)``) or a final value."""

    generation: tuple[int, ...]
    value: Any  # the value itself for a single-output node, else the tuple of its outputs
    is_chunk: bool


class _End(NamedTuple):
    error: BaseException | None


class Watch:
    """Iterate a node's values and chunks while its flow runs (see the module docstring)."""

    def __init__(self, flow: Any, state: NodeState, run_args: tuple[Any, ...], run_kwargs: dict[str, Any]) -> None:
        self.flow = flow
        self.state = state
        self.report: Any = None  # the run's report once it ended
        self._args, self._kwargs = run_args, run_kwargs
        self._queue: queue.Queue[Published | _End] = queue.Queue(BUFFER)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._single = state.draft._single_output

    # ------------------------------------------------------------------ the flow's side
    def _run(self) -> None:
        error: BaseException | None = None
        try:
            self.report = self.flow.run_until_complete(*self._args, **self._kwargs)
        except BaseException as raised:  # noqa: BLE001 - handed to the consumer
            error = raised
        finally:
            unobserve(self.state, self._published)
        self._put(_End(error))

    def _published(self, state: NodeState, data: Any, run_level: int) -> None:
        generation = state.data.gen or ()
        value = data[0] if self._single and data is not None else data
        self._put(Published(generation, value, run_level > 0))

    def _put(self, item: Published | _End) -> None:
        while not self._closed:
            try:
                self._queue.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def _start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("a watch can be iterated once; call flow.watch(...) again for another run")
        observe(self.state, self._published)
        self._thread = threading.Thread(target=self._run, name=f"flowno_core-watch {self.flow!r}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the consumer's side
    def __iter__(self) -> Iterator[Published]:
        self._start()
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _End):
                    self._finish(item)
                    return
                yield item
        finally:
            self.close()

    async def __aiter__(self) -> AsyncIterator[Published]:
        self._start()
        try:
            while True:
                item = await _in_a_thread(self._queue.get)
                if isinstance(item, _End):
                    self._finish(item)
                    return
                yield item
        finally:
            self.close()

    def _finish(self, end: _End) -> None:
        self._closed = True
        if self._thread is not None:
            self._thread.join()
        from ...errors import TerminateLimitReached

        if end.error is not None and not isinstance(end.error, TerminateLimitReached):
            raise end.error  # (a run that reached its limit just ends the iteration)

    def close(self) -> None:
        """Stop watching: cancel the flow if it still runs, and wait for its thread to end."""
        if self._closed and (self._thread is None or not self._thread.is_alive()):
            return
        self._closed = True
        thread = self._thread
        if thread is None:
            return
        while thread.is_alive():
            if self.flow.cancel("the watch was closed"):
                break
            thread.join(_POLL)  # (the run has not begun yet, or is ending by itself)
        thread.join()


async def _in_a_thread(function: Any) -> Any:
    """``function()`` on a worker thread of the running loop: flowno_core's, else asyncio's."""
    from ..._kernel.loop import current_event_loop

    if current_event_loop() is not None:
        from ..._kernel.threads import to_thread

        return await to_thread(function)
    import asyncio

    return await asyncio.to_thread(function)
