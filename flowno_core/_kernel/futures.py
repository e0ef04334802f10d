"""Waiting for a ``concurrent.futures.Future`` (a process pool's, an asyncio helper's) in a task.

Theory of operation: the future's done-callback runs on whichever thread completes it and hands the
completion to the loop thread with ``call_soon_threadsafe``, where it unparks the waiting task.
Meanwhile the wait is an outside wait (``EventLoop.outside_wait``): the run is not taken for
deadlocked and a virtual clock waits for it. If the waiting task is cancelled, the future is
cancelled too (what that stops depends on the future's owner: an asyncio task is cancelled, a
process-pool call that has not started is dropped, one already running is abandoned).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TypeVar

from .loop import EventLoop
from .parking import ParkingLot
from .traps import park_trap

T = TypeVar("T")


class _Completion:
    __slots__ = ("lot", "done")

    def __init__(self) -> None:
        self.lot = ParkingLot("a call running outside the loop")
        self.done = False

    def finish(self) -> None:  # on the loop thread
        self.done = True
        self.lot.unpark_all()


async def wait_for_future(loop: EventLoop, future: Future[T]) -> T:
    """Park the calling task until ``future`` is done; return its result or raise its exception."""
    completion = _Completion()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(completion.finish))
    try:
        with loop.outside_wait():
            while not completion.done:
                await park_trap(completion.lot.park_command)
    except BaseException:
        future.cancel()
        raise
    return future.result()
