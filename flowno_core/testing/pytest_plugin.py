"""pytest plugin: run ``async def test_*`` on flowno_core's EventLoop, in virtual time.

Enable it with ``pytest_plugins = ["flowno_core.testing.pytest_plugin"]`` in ``conftest.py``.

Fixtures:
    virtual_clock: the VirtualClock the test's loop uses (advance it, read ``now()``).
    real_clock: request it to run the test on the wall clock instead (for real sockets/threads).
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from .._kernel.clock import MonotonicClock, VirtualClock
from .._kernel.loop import EventLoop


_VIRTUAL = pytest.StashKey[VirtualClock]()
_REAL = pytest.StashKey[MonotonicClock]()


@pytest.fixture
def virtual_clock(request: pytest.FixtureRequest) -> VirtualClock:
    clock = request.node.stash[_VIRTUAL] = VirtualClock()
    return clock


@pytest.fixture
def real_clock(request: pytest.FixtureRequest) -> MonotonicClock:
    clock = request.node.stash[_REAL] = MonotonicClock()
    return clock


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Any:
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    # the clock fixtures record themselves on the test item, so a clock requested by another
    # fixture (``request.getfixturevalue("real_clock")`` in an autouse fixture) counts too
    stash = pyfuncitem.stash
    clock: Any = stash.get(_REAL, None) or stash.get(_VIRTUAL, None) or VirtualClock()
    EventLoop(clock=clock).run_until_complete(function(**kwargs), join=True)
    return True
