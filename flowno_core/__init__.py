"""flowno_core: a generator-based streaming dataflow engine with its own coroutine event loop.

A source-compatible successor of flowno 0.1.19: ``from flowno_core import node, FlowHDL``.
This module only re-exports (a few names on first use, so that a flow that does not use sockets
or queues does not pay for importing them); see the submodules for the code.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, cast

from . import _logging  # noqa: F401 - configures the "flowno_core" logger from FLOWNO_LOG_* variables
from ._logging import LOG_LEVEL as LOG_LEVEL, TagFilter as TagFilter  # flowno's names, not in __all__ (as in flowno)
from ._graph.runtime.context import current_context, current_flow, current_node
from ._graph.description.decorator import node as _node
from ._graph.description.draft import DraftGroupNode, DraftNode
from ._graph.description.finalized import FinalizedNode
from ._graph.rules.generations import Generation, RunLevel
from ._graph.description.namespace import FlowHDLView
from ._graph.runtime.flowhdl import FlowHDL
from ._graph.runtime.instruments import FlowInstrument
from ._graph.description.ports import NodePlaceholder, Output
from ._graph.runtime.flow import Flow
from ._graph.description.ports import Stream, StreamOutput
from ._kernel.clock import VirtualClock
from ._kernel.current import current_task
from ._kernel.instruments import EventLoopInstrument
from ._kernel.loop import EventLoop, current_event_loop
from ._kernel.task import TaskHandle
from ._kernel.threads import to_thread
from ._primitives import azip, exit, sleep, spawn
from ._graph.rules.markers import Skipped
from .errors import (
    DeadlockError,
    FlowCancelled,
    FlowTimeoutError,
    MissingDefaultError,
    NodeExecutionError,
    NodeTimeoutError,
    QueueClosedError,
    RunFailed,
    SkipGeneration,
    StreamCancelled,
    TaskCancelled,
    TerminateLimitReached,
)

from ._version import __version__

if TYPE_CHECKING:
    from ._node_types import NodeDecoratorType

#: ``@node``: for type checkers, each parameter of type A takes an A or an ``Output[A]``, and a
#: call gives an ``Output`` of what the node returns (see docs/typing.md)
node = cast("NodeDecoratorType", _node)

# Imported on first use (sockets, TLS, queues and sync primitives are not needed to run a flow):
_LAZY = {
    "socket": "._sockets",
    "SocketHandle": "._sockets",
    "Inlet": "._inlet",
    "AsyncQueue": "._queues",
    "AsyncSetQueue": "._queues",
    "Condition": "._sync",
    "CountdownLatch": "._sync",
    "Event": "._sync",
    "Lock": "._sync",
    "Semaphore": "._sync",
    "fail_after": "._timeouts",
    "from_asyncio": "._asyncio_bridge",
    "from_asyncio_stream": "._asyncio_bridge",
    "to_process": "._kernel.processes",
    "to_dask": "._dask",
    "move_on_after": "._timeouts",
    "NodeTaskStatus": "._graph.runtime.task_status",
    "RunReport": "._graph.control.report",
    "EvaluationRecord": "._graph.control.report_details",
    "EvaluationStatus": "._graph.control.report_details",
    "NodeSummary": "._graph.control.report_details",
    "RunOutcome": "._graph.control.report_details",
    "RunTotals": "._graph.control.report_details",
    "Store": "._graph.control.checkpoint",
    "MemoryStore": "._graph.control.checkpoint",
    "SqliteStore": "._graph.control.checkpoint",
    "CheckpointError": "._graph.control.checkpoint",
    "CheckpointMismatch": "._graph.control.checkpoint",
    "CheckpointCorrupt": "._graph.control.checkpoint",
    "CheckpointInUse": "._graph.control.checkpoint",
    "UnpicklableValue": "._graph.control.checkpoint",
    "UnloadableValue": "._graph.control.checkpoint",
}

if TYPE_CHECKING:
    from ._inlet import Inlet
    from ._queues import AsyncQueue, AsyncSetQueue
    from ._sockets import SocketHandle, socket
    from ._sync import Condition, CountdownLatch, Event, Lock, Semaphore
    from ._graph.runtime.task_status import NodeTaskStatus
    from ._graph.control.checkpoint import (
        CheckpointCorrupt,
        CheckpointError,
        CheckpointInUse,
        CheckpointMismatch,
        MemoryStore,
        SqliteStore,
        Store,
        UnloadableValue,
        UnpicklableValue,
    )
    from ._graph.control.report import RunReport
    from ._graph.control.report_details import EvaluationRecord, EvaluationStatus, NodeSummary, RunOutcome, RunTotals
    from ._timeouts import fail_after, move_on_after
    from ._asyncio_bridge import from_asyncio, from_asyncio_stream
    from ._kernel.processes import to_process
    from ._dask import to_dask


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flowno_core' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    # flowno's names
    "AsyncQueue",
    "Condition",
    "DraftGroupNode",
    "DraftNode",
    "Event",
    "EventLoop",
    "Flow",
    "FlowHDL",
    "FlowHDLView",
    "Lock",
    "SocketHandle",
    "Stream",
    "StreamOutput",
    "StreamCancelled",
    "TerminateLimitReached",
    "azip",
    "current_context",
    "current_event_loop",
    "current_flow",
    "current_node",
    "exit",
    "node",
    "sleep",
    "socket",
    "spawn",
    # names flowno kept in internal modules
    "AsyncSetQueue",
    "CountdownLatch",
    "EventLoopInstrument",
    "FlowInstrument",
    "Generation",
    "MissingDefaultError",
    "NodeExecutionError",
    "NodePlaceholder",
    "Output",
    "NodeTaskStatus",
    "QueueClosedError",
    "RunLevel",
    "TaskCancelled",
    "TaskHandle",
    "current_task",
    # flowno_core additions
    "CheckpointCorrupt",
    "CheckpointError",
    "CheckpointInUse",
    "CheckpointMismatch",
    "MemoryStore",
    "SqliteStore",
    "Store",
    "UnloadableValue",
    "UnpicklableValue",
    "DeadlockError",
    "EvaluationRecord",
    "EvaluationStatus",
    "FinalizedNode",
    "FlowCancelled",
    "FlowTimeoutError",
    "Inlet",
    "NodeSummary",
    "NodeTimeoutError",
    "RunFailed",
    "RunOutcome",
    "RunReport",
    "RunTotals",
    "Semaphore",
    "SkipGeneration",
    "Skipped",
    "VirtualClock",
    "fail_after",
    "from_asyncio",
    "from_asyncio_stream",
    "move_on_after",
    "to_dask",
    "to_process",
    "to_thread",
]
