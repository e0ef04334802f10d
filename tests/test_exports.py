"""The public facades export exactly what SPEC §1.1 promises (and it is importable)."""

from __future__ import annotations

import importlib

import pytest

import flowno_core

FLOWNO_NAMES = [
    "node", "FlowHDL", "FlowHDLView", "Flow", "DraftNode", "DraftGroupNode", "Stream", "StreamCancelled",
    "TerminateLimitReached", "current_flow", "current_node", "current_context", "EventLoop",
    "current_event_loop", "spawn", "sleep", "socket", "exit", "azip", "AsyncQueue", "Event", "Lock",
    "Condition", "SocketHandle",
]
INTERNAL_NAMES = [
    "MissingDefaultError", "NodeExecutionError", "NodePlaceholder", "TaskHandle", "TaskCancelled",
    "QueueClosedError", "AsyncSetQueue", "CountdownLatch", "current_task", "Generation", "RunLevel",
    "NodeTaskStatus", "FlowInstrument", "EventLoopInstrument",
]
ADDITION_NAMES = [
    "DeadlockError", "FinalizedNode", "Inlet", "Semaphore", "VirtualClock", "fail_after", "move_on_after",
    "to_thread",
]
IO_NAMES = [
    "HttpClient", "Headers", "HttpServer", "Response", "OkStreamingResponse", "ErrStreamingResponse",
    "streaming_response_is_ok", "HTTPException",
]

#: flowno's generic public classes and how many type parameters each has (a TypeVarTuple counts one)
GENERIC_ARITY = {
    "DraftNode": 2, "DraftGroupNode": 1, "FinalizedNode": 2, "Stream": 1, "AsyncQueue": 1,
    "AsyncSetQueue": 1, "TaskHandle": 1,
}


@pytest.mark.parametrize("name", FLOWNO_NAMES + INTERNAL_NAMES + ADDITION_NAMES)
def test_every_promised_name_is_exported(name):
    assert name in flowno_core.__all__
    assert getattr(flowno_core, name) is not None


@pytest.mark.parametrize("name, arity", sorted(GENERIC_ARITY.items()))
def test_flownos_generic_classes_stay_subscriptable(name, arity):
    cls = getattr(flowno_core, name)
    assert len(cls.__parameters__) == arity
    assert cls[int].__origin__ is cls  # annotations such as `-> Stream[int]` evaluate at run time


def test_all_lists_only_real_names_without_duplicates():
    assert len(flowno_core.__all__) == len(set(flowno_core.__all__))
    for name in flowno_core.__all__:
        assert hasattr(flowno_core, name), name


def test_star_import_gives_the_facade():
    namespace: dict[str, object] = {}
    exec("from flowno_core import *", namespace)
    assert set(flowno_core.__all__) <= set(namespace)


@pytest.mark.parametrize("name", IO_NAMES)
def test_io_exports(name):
    io = importlib.import_module("flowno_core.io")
    assert name in io.__all__
    assert getattr(io, name) is not None


def test_instrumentation_module_exports_both_bases():
    from flowno_core.instrumentation import EventLoopInstrument, FlowInstrument

    assert FlowInstrument is flowno_core.FlowInstrument
    assert EventLoopInstrument is flowno_core.EventLoopInstrument


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    assert flowno_core.__version__ == version("flowno-core")


def test_there_is_no_node_tuple():
    assert not hasattr(flowno_core.node, "tuple")
    assert hasattr(flowno_core.node, "template")


def test_flowno_nodes_facade_lists_its_exports():
    nodes = importlib.import_module("flowno_nodes")
    for name in getattr(nodes, "__all__", []):
        assert hasattr(nodes, name), name


def test_lowlevel_module_exports_the_building_blocks():
    lowlevel = importlib.import_module("flowno_core.lowlevel")
    for name in lowlevel.__all__:
        assert hasattr(lowlevel, name), name
    assert lowlevel.inc_generation((0,), 1) == (1, 0)


def test_lowlevel_docstring_primitive_works():
    from flowno_core import EventLoop, spawn
    from flowno_core.lowlevel import ParkingLot, park_trap

    class Flag:
        def __init__(self) -> None:
            self._lot = ParkingLot()
            self.raised = False

        async def wait(self) -> None:
            if not self.raised:
                await park_trap(self._lot.park_command)

        def raise_flag(self) -> None:
            self.raised = True
            self._lot.unpark_all()

    flag = Flag()
    order = []

    async def waiter() -> None:
        await flag.wait()
        order.append("woke")

    async def main() -> None:
        await spawn(waiter())
        order.append("raising")
        flag.raise_flag()

    EventLoop().run_until_complete(main())
    assert order == ["raising", "woke"]


def test_a_node_made_outside_any_block_gives_a_clear_error_when_used_inside():
    import pytest as _pytest

    from flowno_core import FlowHDL, node

    @node
    async def Src() -> int:
        return 1

    @node
    async def Use(x: int) -> int:
        return x

    outside = Src()
    with _pytest.raises(ValueError, match=r"created outside this FlowHDL block"):
        with FlowHDL() as f:
            f.use = Use(outside)
