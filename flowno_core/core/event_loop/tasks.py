"""flowno's module path ``flowno.core.event_loop.tasks``: the same names, from flowno_core's own modules."""

from ..._kernel.task import TaskHandle
from ...errors import TaskCancelled

__all__ = [
    "TaskCancelled",
    "TaskHandle",
]
