"""to_process (issue 14): CPU work in worker processes, errors raised in the node that called,
unpicklable functions and arguments refused with a clear message, cancellation by a node timeout."""

from __future__ import annotations

import os
import time

import pytest

from flowno_core import FlowHDL, NodeTimeoutError, node, to_process
from flowno_core._kernel import processes

pytestmark = pytest.mark.usefixtures("real_clock")  # real processes


def crunch(n: int) -> tuple[int, int]:
    return sum(i * i for i in range(n)), os.getpid()


def explode(message: str) -> None:
    raise KeyError(message)


def linger(seconds: float) -> str:
    time.sleep(seconds)
    return "late"


def test_the_work_runs_in_another_process_and_many_calls_share_the_pool():
    @node
    async def Heavy(n: int) -> tuple[int, int]:
        return await to_process(crunch, n)

    @node
    async def Collect(*results: tuple[int, int]) -> list[tuple[int, int]]:
        return list(results)

    with FlowHDL() as f:
        f.all = Collect(*(Heavy(n) for n in range(1, 9)))
    f.run_until_complete()
    (results,) = f.all.get_data()
    assert [total for total, _ in results] == [sum(i * i for i in range(n)) for n in range(1, 9)]
    assert all(pid != os.getpid() for _, pid in results)
    assert processes._pools == {}  # the pool was shut down with the run


def test_a_workers_exception_is_raised_in_the_node_with_its_type():
    @node
    async def Fails() -> None:
        await to_process(explode, "no such key")

    with FlowHDL() as f:
        f.fails = Fails()
    with pytest.raises(KeyError, match="no such key") as info:
        f.run_until_complete()
    assert any("(Fails)" in note for note in info.value.__notes__)


def test_a_function_that_cannot_be_pickled_is_refused_naming_it_and_the_node():
    @node
    async def Local() -> int:
        return await to_process(lambda: 1)

    with FlowHDL() as f:
        f.local = Local()
    with pytest.raises(TypeError, match=r"to_process\(.*<lambda>\).*define it at module level") as info:
        f.run_until_complete()
    assert any("(Local)" in note for note in info.value.__notes__)


def test_an_argument_that_cannot_be_pickled_is_refused_naming_it():
    import threading

    @node
    async def Sends() -> object:
        return await to_process(crunch, threading.Lock())

    with FlowHDL() as f:
        f.sends = Sends()
    with pytest.raises(TypeError, match=r"argument 0 \(lock\) cannot be sent"):
        f.run_until_complete()


def test_a_node_timeout_abandons_a_running_call():
    @node(timeout=0.5)
    async def Slow() -> str:
        return await to_process(linger, 30)

    with FlowHDL() as f:
        f.slow = Slow()
    with pytest.raises(NodeTimeoutError):
        f.run_until_complete()  # returns without waiting for the worker's 30 s
    assert processes._pools == {}
