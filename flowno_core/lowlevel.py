"""The low-level API, for authors of primitives and of hand-written nodes.

Everything flowno_core's own primitives are built on: the kernel's task record and its parking
mechanism, the traps (the only awaitables that talk to the loop), clocks, and the graph-level
pieces a hand-written ``DraftNode`` subclass or an instrument may need (``OriginalCall``, the
generation helpers of SPEC §2.2). flowno_nodes is written against this module and the facade only.

Example (a primitive that waits until a callback fires)::

    from flowno_core.lowlevel import ParkingLot, current_task_object, park_trap

    class Flag:
        def __init__(self):
            self._lot = ParkingLot()
            self.raised = False

        async def wait(self):
            if not self.raised:
                await park_trap(self._lot.park_command)

        def raise_flag(self):          # call on the loop thread
            self.raised = True
            self._lot.unpark_all()
"""

from ._graph.description.draft import DraftInputPortRef, DraftOutputPortRef, OriginalCall
from ._graph.description.finalized import FinalizedInputPortRef, FinalizedNode, FinalizedOutputPortRef
from ._graph.description.ports import InputPortIndex, OutputPortIndex, OutputPortRefPlaceholder
from ._graph.rules.generations import (
    clip_generation,
    cmp_generation,
    inc_generation,
    main_generation,
    parent_generation,
    stitched_generation,
)
from ._graph.rules.staleness import is_stale
from ._graph.runtime.instruments import get_current_flow_instrument
from ._kernel.clock import MonotonicClock, VirtualClock
from ._kernel.commands import ALL_COMMANDS, Exit, Park, Sleep, Spawn, WaitIO
from ._kernel.current import current_task_object
from ._kernel.instruments import get_current_instrument
from ._kernel.parking import ParkingLot, reschedule
from ._kernel.task import CancelRequest, Task, TaskStatus
from ._kernel.timers import TimerHandle
from ._kernel.traps import exit_trap, park_trap, sleep_trap, spawn_trap, wait_io_trap

__all__ = [
    "ALL_COMMANDS",
    "CancelRequest",
    "DraftInputPortRef",
    "DraftOutputPortRef",
    "Exit",
    "FinalizedInputPortRef",
    "FinalizedNode",
    "FinalizedOutputPortRef",
    "InputPortIndex",
    "MonotonicClock",
    "OriginalCall",
    "OutputPortIndex",
    "OutputPortRefPlaceholder",
    "Park",
    "ParkingLot",
    "Sleep",
    "Spawn",
    "Task",
    "TaskStatus",
    "TimerHandle",
    "VirtualClock",
    "WaitIO",
    "clip_generation",
    "cmp_generation",
    "current_task_object",
    "exit_trap",
    "get_current_flow_instrument",
    "get_current_instrument",
    "inc_generation",
    "is_stale",
    "main_generation",
    "parent_generation",
    "park_trap",
    "reschedule",
    "sleep_trap",
    "spawn_trap",
    "stitched_generation",
    "wait_io_trap",
]
