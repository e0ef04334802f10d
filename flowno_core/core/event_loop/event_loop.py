"""flowno's module path ``flowno.core.event_loop.event_loop``: the same names, from flowno_core's own modules."""

from ..._kernel.current import current_task
from ..._kernel.instrument_events import (
    InstrumentationMetadata,
    ReadySocketInstrumentationMetadata,
    TaskSendMetadata,
    TaskThrowMetadata,
)
from ..._kernel.instruments import get_current_instrument
from ..._kernel.loop import EventLoop, current_event_loop
from ..._kernel.task import TaskHandle
from ..._queues import AsyncQueue
from ...errors import QueueClosedError, TaskCancelled

__all__ = [
    "AsyncQueue",
    "EventLoop",
    "InstrumentationMetadata",
    "QueueClosedError",
    "ReadySocketInstrumentationMetadata",
    "TaskCancelled",
    "TaskHandle",
    "TaskSendMetadata",
    "TaskThrowMetadata",
    "current_event_loop",
    "current_task",
    "get_current_instrument",
]
