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
    """A ``stop_at_node_generation`` limit was reached.

    As in flowno it carries no payload (``args`` is empty). ``node``, ``generation`` and ``limit``
    say which limit ended the run, and ``str()`` says it in words.
    """

    node: Any = None
    generation: Any = None
    limit: Any = None

    def __str__(self) -> str:
        if self.args or self.node is None:
            return super().__str__()
        from ._graph.description.naming import node_label

        return (
            f"{node_label(self.node)} reached generation {self.generation} "
            f"(stop_at_node_generation: {self.limit}); run the flow again to continue from here"
        )


class NodeExecutionError(Exception):
    """Wraps an exception raised by a node where the error must be wrapped.

    Used with ``terminate_on_node_error=False`` (the original exception is the ``__cause__``) and
    by a stream read whose producer failed. ``node`` is the failing node. Without a ``message``
    the text is flowno's, ``"Exception in node <node>"``.
    """

    def __init__(self, node: Any, message: str | None = None) -> None:
        self.node = node
        super().__init__(message if message is not None else f"Exception in node {node}")


class NodeTimeoutError(TimeoutError):
    """A node's evaluation (``timeout=``) or its wait for a streamed chunk (``chunk_timeout=``) took
    longer than its limit. ``node``, ``generation`` (the one it was computing) and ``limit`` (seconds)
    say which; ``what`` is ``"evaluation"`` or ``"chunk"``."""

    def __init__(self, node: Any, generation: Any, limit: float, what: str = "evaluation") -> None:
        self.node = node
        self.generation = generation
        self.limit = limit
        self.what = what
        option = "timeout" if what == "evaluation" else "chunk_timeout"
        from ._graph.description.naming import node_label

        super().__init__(
            f"node {node_label(node)} timed out computing generation {generation}: "
            + ("the evaluation" if what == "evaluation" else "waiting for its next chunk")
            + f" took longer than {option}={limit}s (raise the limit, or let retries= try again)"
        )

    def __reduce__(self) -> Any:
        return (type(self), (self.node, self.generation, self.limit, self.what))


class FlowCancelled(Exception):
    """``flow.cancel(reason)`` ended the run (every node task was closed, ``finally`` blocks ran);
    ``reason`` is what the caller gave. Running the flow again continues where it stopped."""

    def __init__(self, reason: Any = None) -> None:
        self.reason = reason
        super().__init__("the flow was cancelled" + ("" if reason is None else f": {reason}"))


class FlowTimeoutError(TimeoutError):
    """``run_until_complete(timeout=...)`` expired before the run ended; ``timeout`` is the limit in
    seconds. Running the flow again continues where it stopped."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(f"the run did not finish within timeout={timeout}s; run the flow again to continue")


class NodeConfigurationError(TypeError):
    """A node or a connection was declared in a way that cannot work (the message says how to fix it)."""


class NotAsyncNodeError(NodeConfigurationError, ValueError, NotImplementedError):
    """A node's ``call`` returned neither a coroutine nor an async generator (define it with ``async def``).

    It is a TypeError, and also the ValueError (``@node`` classes) and NotImplementedError
    (hand-written ``DraftNode`` subclasses) flowno raised in this case, so code written for either
    catches it.
    """


class NodeConfigurationWarning(UserWarning):
    """A node declaration that flowno 0.1.19 accepted silently but that is almost certainly a mistake
    (e.g. ``stream_in`` naming a parameter that does not exist). The code still runs as it did."""


class MissingDefaultError(Exception):
    """An input has no value and no default: a cycle nothing can start, or a gather-time gap.

    ``MissingDefaultError(node, port)`` (single-port form, raised while gathering inputs) or
    ``MissingDefaultError(members)`` where ``members`` maps each node of the cycle to its in-cycle
    ports that lack defaults (or is an object with such a ``.members`` attribute). The message lists
    the nodes in definition order with their parameters underlined.
    """

    def __init__(self, node: Any, input_index: int | None = None) -> None:
        from ._graph.description.messages import cycle_message, missing_defaults_block

        self.node: Any = None
        self.port: int | None = input_index
        self.members: dict[Any, list[int]] = {}
        if input_index is not None:
            self.node = node
            self.members = {node: [input_index]}
            super().__init__(missing_defaults_block(node, [input_index]))
            return
        members = getattr(node, "members", node)
        self.members = {member: list(ports) for member, ports in dict(members).items()}
        super().__init__(cycle_message(self.members))


class StreamCancelled(Exception):
    """Thrown into a streaming producer at its ``yield`` when a consumer cancelled its stream.

    ``stream`` is the cancelling consumer's Stream.
    """

    def __init__(self, stream: Any, message: str = "Stream was cancelled by consumer") -> None:
        self.stream = stream
        super().__init__(message)


class SkipGeneration(Exception):
    """Raise it in a node to skip the generation it is computing: not an error.

    The node publishes a ``Skipped`` marker instead of a value (a streaming node ends its lap with
    it), so its dependants skip that generation too, and a port listed in ``optional=[...]`` takes
    its default instead. The run report records the evaluation as skipped; nothing is retried or
    logged, whatever the node's ``on_error``. The marker's ``error`` is this exception (its message
    says why).

    Example::

        @node
        async def OnlyWorkdays(day: str) -> str:
            if day in ("Sat", "Sun"):
                raise SkipGeneration(f"{day} is a weekend")
            return day
    """


class RunFailed(Exception):
    """Raised by ``RunReport.raise_for_errors()`` when a run had failed or timed-out evaluations,
    raised an error, or did not end by itself (cancelled, deadlocked, timed out).

    The message names every failing node with the generation and error of its last failure. ``errors``
    holds the failed and timed-out ``EvaluationRecord`` objects the report kept; ``exceptions`` every
    distinct exception involved. ``__cause__`` is that exception when there is one, and an
    ExceptionGroup of them when there are several. (A pickled copy keeps only the message.)
    """

    def __init__(
        self, message: str, errors: list[Any] | None = None, exceptions: list[BaseException] | None = None
    ) -> None:
        super().__init__(message)
        self.errors: list[Any] = [] if errors is None else errors
        self.exceptions: list[BaseException] = [] if exceptions is None else exceptions
