"""@node(offload="thread" | "process") (issue 14): a plain def node body runs off the loop, on a
worker thread or in a worker process, with bad uses refused when the decorator runs."""

from __future__ import annotations

import os
import threading

import pytest

from flowno_core import FlowHDL, node
from flowno_core.errors import NodeConfigurationError

pytestmark = pytest.mark.usefixtures("real_clock")  # real threads and processes


@node(offload="process")
def Square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@node(offload="process")
def Breaks(x: int) -> int:
    raise ArithmeticError(f"cannot take {x}")


def test_a_process_node_runs_in_a_worker_process():
    with FlowHDL() as f:
        f.square = Square(7)
    f.run_until_complete()
    (value, pid), = f.square.get_data()
    assert value == 49 and pid != os.getpid()


def test_a_process_nodes_error_names_the_node():
    with FlowHDL() as f:
        f.breaks = Breaks(3)
    with pytest.raises(ArithmeticError, match="cannot take 3") as info:
        f.run_until_complete()
    assert any("(Breaks)" in note for note in info.value.__notes__)


def test_a_thread_node_runs_on_a_worker_thread_while_other_nodes_go_on():
    release = threading.Event()

    @node(offload="thread")
    def Blocking(timeout: float) -> str:
        assert release.wait(timeout)  # a blocking call: the loop must not wait on it
        return threading.current_thread().name

    @node
    async def Releases() -> bool:
        release.set()
        return True

    with FlowHDL() as f:
        f.blocking = Blocking(30.0)
        f.releases = Releases()
    f.run_until_complete()
    assert f.blocking.get_data()[0] != threading.current_thread().name
    assert f.releases.get_data() == (True,)


def test_offload_is_refused_where_it_cannot_apply():
    with pytest.raises(NodeConfigurationError, match="plain `def`"):

        @node(offload="thread")
        async def AlreadyAsync(x: int) -> int:
            return x

    with pytest.raises(NodeConfigurationError, match="module level"):

        @node(offload="process")
        def Local(x: int) -> int:
            return x

    with pytest.raises(NodeConfigurationError, match="offload takes one of"):

        @node(offload="gpu")  # type: ignore[call-overload]
        def Elsewhere(x: int) -> int:
            return x

    with pytest.raises(NodeConfigurationError, match="class"):

        @node(offload="thread")
        class Stateful:
            def call(self, x: int) -> int:
                return x
