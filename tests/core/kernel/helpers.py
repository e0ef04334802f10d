"""Small helpers shared by the kernel tests."""

from __future__ import annotations

import os
from typing import Any

from flowno_core import EventLoop
from flowno_core._kernel.clock import VirtualClock


def run(coro: Any, join: bool = True, **kwargs: Any) -> Any:
    """Run ``coro`` on a fresh loop in virtual time."""
    return EventLoop(clock=VirtualClock()).run_until_complete(coro, join=join, **kwargs)


def open_fds() -> set[int]:
    """The file descriptors this process has open (Linux; includes the listing's own fd, which is
    the same lowest free number on every call as long as nothing leaked)."""
    return {int(name) for name in os.listdir("/proc/self/fd")}
