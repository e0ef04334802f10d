"""current_flow(), current_node() and current_context().

``current_flow`` is a ContextVar set for the duration of ``run_until_complete`` (and always reset
afterwards, D13). ``current_node`` reads the running kernel task's ``owner``, which the runtime
sets on node tasks only, so it is O(1) and None in tasks a node spawned.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any

from ..._kernel.task import CURRENT_TASK

if TYPE_CHECKING:
    from ..description.finalized import FinalizedNode
    from .flow import Flow

CURRENT_FLOW: contextvars.ContextVar["Flow | None"] = contextvars.ContextVar("flowno_core.current_flow", default=None)


def current_flow() -> "Flow | None":
    """The flow whose ``run_until_complete`` is running, or None."""
    return CURRENT_FLOW.get()


def current_node() -> "FinalizedNode | None":
    """The node whose task is running, or None (outside a node task, including tasks it spawned)."""
    task = CURRENT_TASK.get()
    return None if task is None else task.owner


def current_context() -> Any:
    """``context_factory(current_node())`` for the running flow.

    Raises RuntimeError outside a flow, outside a node, or when the run has no context_factory.
    Each message starts with flowno's text (code matches on it) and then says how to fix it.

    Example::

        f.run_until_complete(context_factory=lambda node: {"name": repr(node)})
        # inside a node: current_context()["name"]
    """
    flow = CURRENT_FLOW.get()
    if flow is None:
        raise RuntimeError(
            "current_context() called outside of a flow: no run_until_complete() is running on this "
            "thread; call it from inside a node while the flow runs"
        )
    node = current_node()
    if node is None:
        raise RuntimeError(
            "current_context() called outside of a node: the running task is not a node's task (a task a "
            "node spawns has no node); call it in the node and pass the context to the task"
        )
    factory = flow._context_factory
    if factory is None:
        raise RuntimeError(
            f"No context factory provided to run_until_complete(): node {node!r} called current_context(); "
            "pass run_until_complete(context_factory=lambda node: ...)"
        )
    return factory(node)
