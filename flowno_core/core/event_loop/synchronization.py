"""flowno's module path ``flowno.core.event_loop.synchronization``: the same names, from flowno_core's own modules."""

from ..._sync import (
    Condition,
    CountdownLatch,
    Event,
    Lock,
)

__all__ = [
    "Condition",
    "CountdownLatch",
    "Event",
    "Lock",
]
