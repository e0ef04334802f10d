"""``to_process``: run a CPU-heavy function in a worker process.

Theory of operation: the first ``to_process`` of a run makes a ``ProcessPoolExecutor`` for the
loop, shut down when the run ends (``EventLoop.at_run_end``). A call still running then was
abandoned by its task (a timeout, a cancel, the run's end): its result would be dropped, so the
workers are terminated rather than left computing, and the interpreter does not wait for them when
it exits. The function and its arguments are pickled first,
in the calling task, so one that cannot be pickled (a lambda, a nested function, an open socket)
fails there at once with a message saying what could not be sent, instead of inside the pool's
feeder thread. The task then waits for the pool's future (``futures.wait_for_future``); a worker's
exception is raised in the task with its original type, and cancelling the task drops a call that
has not started yet.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .futures import wait_for_future
from .loop import EventLoop, current_event_loop
from .task import CURRENT_TASK

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

R = TypeVar("R")

class _Pool:
    """A run's process pool and the calls it was given."""

    def __init__(self) -> None:
        from concurrent.futures import ProcessPoolExecutor  # (imported on first use)

        self.executor: ProcessPoolExecutor = ProcessPoolExecutor()
        self.calls: list[Future[Any]] = []

    def submit(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> Future[R]:
        future = self.executor.submit(fn, *args, **kwargs)
        self.calls = [call for call in self.calls if not call.done()]
        self.calls.append(future)
        return future

    def close(self) -> None:
        running = any(not call.done() for call in self.calls)
        if running:  # abandoned calls: stop their workers (the pool has no public way; 3.14 adds one)
            for process in list(getattr(self.executor, "_processes", {}).values()):
                process.terminate()
        self.executor.shutdown(wait=running is False, cancel_futures=True)


_pools: dict[EventLoop, _Pool] = {}
_pools_lock = threading.Lock()


def _pool_for(loop: EventLoop) -> _Pool:
    with _pools_lock:
        pool = _pools.get(loop)
        if pool is None:
            pool = _pools[loop] = _Pool()
            loop.at_run_end(lambda: _release(loop))
    return pool


def _release(loop: EventLoop) -> None:
    with _pools_lock:
        pool = _pools.pop(loop, None)
    if pool is not None:
        pool.close()


async def to_process(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """Run ``fn(*args, **kwargs)`` in a worker process and return its result.

    ``fn`` and the arguments are pickled: define the function at module level, and pass plain data.
    A worker's exception is raised here. Cancelling the awaiting task drops a call that has not
    started; the workers of calls still running when the run ends are terminated.

    Example::

        def crunch(n: int) -> int:            # at module level: it is pickled by name
            return sum(i * i for i in range(n))

        @node
        async def Heavy(n: int) -> int:
            return await to_process(crunch, n)
    """
    loop = current_event_loop()
    if loop is None or CURRENT_TASK.get() is None:
        raise RuntimeError("to_process() must be awaited inside a flowno_core task (a node, or a task of a flow's loop)")
    _check_picklable(fn, args, kwargs)
    future = _pool_for(loop).submit(fn, *args, **kwargs)
    return await wait_for_future(loop, future)


def _check_picklable(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    name = getattr(fn, "__qualname__", repr(fn))
    try:
        pickle.dumps(fn)
    except Exception as error:  # noqa: BLE001 - pickling can fail with anything
        raise TypeError(
            f"to_process({name}): the function cannot be sent to a worker process ({type(error).__name__}: {error}); "
            "define it at module level (not a lambda, a nested function or a method of a local class)"
        ) from error
    labels = [f"argument {i}" for i in range(len(args))] + [f"argument {key}=" for key in kwargs]
    for where, value in zip(labels, [*args, *kwargs.values()]):
        try:
            pickle.dumps(value)
        except Exception as error:  # noqa: BLE001
            raise TypeError(
                f"to_process({name}): {where} ({type(value).__name__}) cannot be sent to a worker process "
                f"({type(error).__name__}: {error}); pass plain data (numbers, strings, lists, dicts...)"
            ) from error
