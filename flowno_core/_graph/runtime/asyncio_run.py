"""``run_async``: run a flow from asyncio code without blocking the asyncio loop.

Theory of operation: the flow's own loop runs ``run_until_complete`` on a thread of its own, and the
asyncio task awaits a future that thread completes (through ``call_soon_threadsafe`` of the asyncio
loop), so the asyncio loop keeps serving its other tasks meanwhile. Cancelling the awaiting asyncio
task cancels the flow (``flow.cancel``: its node tasks are cancelled where they wait and their
``finally`` blocks run), waits for the thread to finish, and then lets the cancellation go on.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


async def run_async(flow: Any, *args: Any, **kwargs: Any) -> Any:
    """``flow.run_until_complete(*args, **kwargs)`` on a thread, awaited from asyncio."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    awaited = True  # False once the awaiting task was cancelled: nobody reads the outcome then

    def settle(outcome: Any, error: BaseException | None) -> None:  # on the asyncio loop
        if done.done() or not awaited:
            return  # (an exception set on a future nobody reads is logged when it is collected)
        if error is None:
            done.set_result(outcome)
        else:
            done.set_exception(error)

    def run() -> None:  # on the flow's thread
        outcome: Any = None
        error: BaseException | None = None
        try:
            outcome = flow.run_until_complete(*args, **kwargs)
        except BaseException as raised:  # noqa: BLE001 - handed to the awaiting asyncio task
            error = raised
        try:
            loop.call_soon_threadsafe(settle, outcome, error)
        except RuntimeError:
            pass  # the asyncio loop is closed: nobody waits any more

    thread = threading.Thread(target=run, name=f"flowno_core-run {flow!r}", daemon=True)
    thread.start()
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        awaited = False
        while thread.is_alive() and not flow.cancel("the asyncio task awaiting run_async was cancelled"):
            await asyncio.sleep(0.001)  # (the run has not begun yet: cancel it as soon as it has)
        await asyncio.to_thread(thread.join)
        raise
