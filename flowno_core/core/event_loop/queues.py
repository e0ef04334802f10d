"""flowno's module path ``flowno.core.event_loop.queues``: the same names, from flowno_core's own modules."""

from ..._kernel.instruments import get_current_instrument
from ..._queues import AsyncQueue, AsyncSetQueue
from ..._sync import Condition, Lock
from ...errors import QueueClosedError
from ...utilities.logging import log_async

__all__ = [
    "AsyncQueue",
    "AsyncSetQueue",
    "Condition",
    "Lock",
    "QueueClosedError",
    "get_current_instrument",
    "log_async",
]
