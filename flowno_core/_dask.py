"""``to_dask``: run a node's heavy work on a dask.distributed cluster (the optional extra ``dask``).

Theory of operation: ``client.submit`` sends the function to the cluster and returns a dask
``Future``; the calling task waits for it like for any future finished on another thread
(``_kernel.futures.wait_for_future``: the done-callback, run on dask's callback thread, hands the
completion to the loop through ``call_soon_threadsafe``). A worker's exception is raised in the
task with its own type; cancelling the task cancels the dask future. Each call runs (``pure=False``:
dask would otherwise share the result of calls with equal arguments). The flow is still coordinated
by the local loop: only the function bodies run on the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ._kernel.futures import wait_for_future
from ._kernel.loop import current_event_loop
from ._kernel.task import CURRENT_TASK

R = TypeVar("R")


def default_client() -> Any:
    """The dask client of this process (``distributed.Client(...)`` made one), or a clear error."""
    try:
        from distributed import default_client as dask_default_client
    except ImportError as error:
        raise ImportError(
            "to_dask needs dask.distributed: pip install 'flowno-core[dask]' (or dask[distributed])"
        ) from error
    try:
        return dask_default_client()
    except ValueError as error:
        raise RuntimeError(
            "to_dask: no dask client; make one first (client = distributed.Client(cluster_or_address)) "
            "or pass client=..."
        ) from error


async def to_dask(fn: Callable[..., R], /, *args: Any, client: Any = None, **kwargs: Any) -> R:
    """Run ``fn(*args, **kwargs)`` on a dask.distributed cluster and return its result.

    ``client`` is a ``distributed.Client``; by default, the process's current client. The
    function and arguments are sent with dask's serialisation (cloudpickle: lambdas too). A
    worker's exception is raised here; cancelling the awaiting task cancels the dask task.

    Example::

        from distributed import Client, LocalCluster

        client = Client(LocalCluster(n_workers=2))

        @node
        async def Heavy(n: int) -> int:
            return await to_dask(sum, range(n), client=client)
    """
    loop = current_event_loop()
    if loop is None or CURRENT_TASK.get() is None:
        raise RuntimeError("to_dask() must be awaited inside a flowno_core task (a node, or a task of a flow's loop)")
    if client is None:
        client = default_client()
    future = client.submit(fn, *args, pure=False, **kwargs)
    return await wait_for_future(loop, future)
