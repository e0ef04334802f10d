"""Small helpers shared by the kernel tests."""

from __future__ import annotations

from typing import Any

from flowno_core import EventLoop
from flowno_core._kernel.clock import VirtualClock


def run(coro: Any, join: bool = True, **kwargs: Any) -> Any:
    """Run ``coro`` on a fresh loop in virtual time."""
    return EventLoop(clock=VirtualClock()).run_until_complete(coro, join=join, **kwargs)
