"""Testing tools shipped with flowno_core: virtual time, run helpers and (for flows) hypothesis
strategies.

* ``VirtualClock``: pass it to ``EventLoop(clock=...)`` so sleeps and timeouts take no wall time.
* ``run(coro, clock=None)``: run a coroutine on a fresh loop (virtual clock by default) and return
  its value.
* ``flowno_core.testing.pytest_plugin``: add ``pytest_plugins = ["flowno_core.testing.pytest_plugin"]``
  to a ``conftest.py`` and ``async def test_*`` functions run on flowno_core's loop in virtual time.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from .._kernel.clock import MonotonicClock, VirtualClock
from .._kernel.loop import EventLoop

T = TypeVar("T")

__all__ = ["MonotonicClock", "VirtualClock", "run"]


def run(coro: Coroutine[Any, Any, T], clock: VirtualClock | MonotonicClock | None = None) -> T:
    """Run ``coro`` to completion on a new EventLoop (virtual time unless a clock is given).

    Example::

        async def main():
            await sleep(60)
            return "done"

        assert run(main()) == "done"     # takes no wall time
    """
    loop = EventLoop(clock=clock if clock is not None else VirtualClock())
    return loop.run_until_complete(coro, join=True)  # type: ignore[no-any-return]
