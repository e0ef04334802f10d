"""``@node(offload="thread" | "process" | dask_client)``: a plain ``def`` node whose body runs off the loop.

Theory of operation: the node's ``call`` returns a coroutine that awaits ``to_thread``,
``to_process`` or ``to_dask`` with the user's function, so the runtime sees an ordinary async node.
A worker process cannot receive the function itself by name (the module's name for it is now the
node class), so it gets a ``FunctionByName``: the module and qualified name, resolved in the worker
to the node class and from there to its ``__wrapped__`` function. That needs a function at module
level, which is checked when the decorator runs. dask pickles with cloudpickle, which sends a
function by value when its name does not lead back to it, so a cluster takes the function itself.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from importlib import import_module
from typing import Any

from ..._kernel.processes import to_process
from ..._kernel.threads import to_thread
from ...errors import NodeConfigurationError

OFFLOADS = ("thread", "process")


class FunctionByName:
    """A module-level function, pickled by its module and qualified name (see the module docstring)."""

    __slots__ = ("module", "qualname")

    def __init__(self, module: str, qualname: str) -> None:
        self.module = module
        self.qualname = qualname

    def __call__(self, *args: Any) -> Any:
        target: Any = import_module(self.module)
        for part in self.qualname.split("."):
            target = getattr(target, part)
        return getattr(target, "__wrapped__", target)(*args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (FunctionByName, (self.module, self.qualname))


def offloaded_call(func: Callable[..., Any], offload: Any, owner: str) -> Callable[..., Coroutine[Any, Any, Any]]:
    """The ``call`` of a node whose plain ``def`` body runs on a worker thread or process."""
    to_cluster = callable(getattr(offload, "submit", None))  # a dask.distributed Client
    if not to_cluster and offload not in OFFLOADS:
        raise NodeConfigurationError(
            f"@node(offload={offload!r}) on {owner}: offload takes one of {', '.join(map(repr, OFFLOADS))} "
            "or a dask.distributed Client"
        )
    if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        raise NodeConfigurationError(
            f"@node(offload={offload!r}) on {owner}: offload runs a plain `def` function off the loop; "
            f"write {owner} with `def` (blocking or CPU-heavy code), or drop offload= for `async def`"
        )
    if offload == "thread":

        async def on_a_thread(*args: Any) -> Any:
            return await to_thread(func, *args)

        runner, target = on_a_thread, None
    elif to_cluster:  # dask serialises with cloudpickle: the function goes by value where its name does not reach it

        async def on_the_cluster(*args: Any) -> Any:
            from ..._dask import to_dask  # (imported on first use: the optional extra)

            return await to_dask(func, *args, client=offload)

        runner = on_the_cluster
    else:
        qualname = getattr(func, "__qualname__", owner)
        if "<locals>" in qualname:
            raise NodeConfigurationError(
                f"@node(offload='process') on {owner}: a worker process finds the function by its module and "
                f"name, so define {owner} at module level (it is defined inside {qualname.split('.<locals>')[0]})"
            )
        target = FunctionByName(func.__module__, qualname)

        async def in_a_process(*args: Any) -> Any:
            return await to_process(target, *args)

        runner = in_a_process

    def call(self: Any, *args: Any) -> Coroutine[Any, Any, Any]:
        return runner(*args)

    return call
