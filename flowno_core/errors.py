"""Every exception flowno_core raises, one docstring each.

The graph-level exceptions (MissingDefaultError, NodeExecutionError, ...) live here too so that
users have one place to import from; they format their messages lazily from the objects they carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._kernel.task import TaskHandle


@dataclass(eq=False)
class TaskCancelled(Exception):
    """Thrown into a task that was cancelled; re-raised by ``join()`` on a cancelled task.

    ``by`` is the handle of the cancelled task. ``str()`` is ``"Task was cancelled"``.
    """

    by: "TaskHandle[Any]"

    def __str__(self) -> str:
        return "Task was cancelled"


class QueueClosedError(Exception):
    """Raised by ``put`` on a closed queue, and by ``get``/``peek`` on a closed, empty queue."""


class ZeroLatchError(Exception):
    """Raised by ``CountdownLatch.count_down(exception_if_zero=True)`` when the count is already 0."""


class UnknownCommandError(RuntimeError):
    """Thrown back into a task that yielded something that is not a flowno_core command.

    The usual cause is awaiting an asyncio (or trio, or tornado) object inside a flowno_core task.
    """


class LockNotOwnedError(RuntimeError):
    """Raised in the task that releases, waits on or notifies a lock it does not hold."""


class DeadlockError(RuntimeError):
    """Nothing can make progress while tasks or nodes still wait on each other."""


class TerminateLimitReached(Exception):
    """A ``stop_at_node_generation`` limit was reached. It carries no payload."""


class NodeExecutionError(Exception):
    """Wraps an exception raised by a node where the error must be wrapped.

    Used with ``terminate_on_node_error=False`` (the original exception is the ``__cause__``) and
    by a stream read whose producer failed. ``node`` is the failing node.
    """

    def __init__(self, node: Any, message: str | None = None) -> None:
        self.node = node
        super().__init__(message if message is not None else f"Node {node!r} raised an exception")


class NodeConfigurationError(TypeError):
    """A node or a connection was declared in a way that cannot work (the message says how to fix it)."""
