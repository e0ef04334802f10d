"""The pytest plugin (flowno_core.testing.pytest_plugin): which clock an async test's loop runs on."""

from __future__ import annotations

import pytest

from flowno_core import current_event_loop, sleep
from flowno_core._kernel.clock import MonotonicClock, VirtualClock


@pytest.fixture
def wants_the_wall_clock(request):
    """Asks for the real clock the way a conftest's autouse fixture would: not as an argument."""
    request.getfixturevalue("real_clock")


async def test_an_async_test_runs_in_virtual_time_by_default():
    assert isinstance(current_event_loop().clock, VirtualClock)
    assert await sleep(3600) >= 3600  # an hour of virtual time passes at once


async def test_the_virtual_clock_fixture_is_the_loops_clock(virtual_clock):
    assert current_event_loop().clock is virtual_clock


async def test_the_real_clock_fixture_is_the_loops_clock(real_clock):
    assert current_event_loop().clock is real_clock


@pytest.mark.usefixtures("wants_the_wall_clock")
async def test_a_real_clock_requested_by_another_fixture_counts():
    assert isinstance(current_event_loop().clock, MonotonicClock)
