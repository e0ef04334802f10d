"""Flow instrument hooks for streams (SPEC §1.10): on_stream_start/next/end/error, on_node_stalled,
on_node_pause, on_node_resumed, node_lifecycle at run level 1, on_node_emitted_data per level."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from flowno_core import FlowInstrument, NodeExecutionError, Stream, node

from .helpers import vflow


class Recorder(FlowInstrument):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[Any, ...]] = []

    def on_stream_start(self, stream: Any) -> None:
        self.events.append(("start", stream))

    def on_stream_next(self, stream: Any, data: Any) -> None:
        self.events.append(("next", stream, data))

    def on_stream_end(self, stream: Any) -> None:
        self.events.append(("end", stream))

    def on_stream_error(self, stream: Any, error: BaseException) -> None:
        self.events.append(("error", stream, error))

    def on_node_stalled(self, flow: Any, node: Any, stalled_input: Any) -> None:
        self.events.append(("stalled", node, stalled_input.node, stalled_input.port_index))

    def on_node_pause(self, flow: Any, node: Any, run_level: int) -> None:
        self.events.append(("pause", node, run_level))

    def on_node_resumed(self, flow: Any, node: Any, run_level: int) -> None:
        self.events.append(("resumed", node, run_level))

    def on_node_emitted_data(self, flow: Any, node: Any, data: Any, run_level: int) -> None:
        self.events.append(("emit", node, data, run_level))

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        self.events.append(("enter", node, run_level))
        try:
            yield
        finally:
            self.events.append(("exit", node, run_level))

    def kinds(self, *names: str) -> list[tuple[Any, ...]]:
        return [event for event in self.events if event[0] in names]


@node
async def Chunks():
    for i in range(3):
        yield i


def test_stream_start_next_and_end() -> None:
    streams: list[Stream[int]] = []

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        streams.append(xs)
        return [x async for x in xs]

    with vflow() as f:
        f.chunks = Chunks()
        f.reader = Reader(f.chunks)
    with Recorder() as recorder:
        f.run_until_complete()
    stream = streams[0]
    assert recorder.kinds("start", "next", "end") == [
        ("start", stream),
        ("next", stream, 0),
        ("next", stream, 1),
        ("next", stream, 2),
        ("end", stream),
    ]


def test_stream_hooks_for_a_one_item_stream_from_a_mono_producer() -> None:
    streams: list[Stream[int]] = []

    @node
    async def Value():
        return 7

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        streams.append(xs)
        return [x async for x in xs]

    with vflow() as f:
        f.value = Value()
        f.reader = Reader(f.value)
    with Recorder() as recorder:
        f.run_until_complete()
    stream = streams[0]
    assert recorder.kinds("start", "next", "end") == [("start", stream), ("next", stream, 7), ("end", stream)]


def test_emitted_data_per_run_level_and_pause_resume_around_each_chunk() -> None:
    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.chunks = Chunks()
        f.reader = Reader(f.chunks)
    with Recorder() as recorder:
        f.run_until_complete()
    producer = f.chunks
    mine = [event for event in recorder.kinds("emit", "pause", "resumed") if event[1] is producer]
    assert mine == [
        ("emit", producer, (0,), 1),
        ("pause", producer, 1),
        ("resumed", producer, 1),
        ("emit", producer, (1,), 1),
        ("pause", producer, 1),
        ("resumed", producer, 1),
        ("emit", producer, (2,), 1),
        ("pause", producer, 1),
        ("resumed", producer, 1),
        ("emit", producer, (3,), 0),
    ]


def test_node_lifecycle_at_level_1_wraps_each_step_of_the_generator() -> None:
    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.chunks = Chunks()
        f.reader = Reader(f.chunks)
    with Recorder() as recorder:
        f.run_until_complete()
    producer = f.chunks
    mine = [event for event in recorder.kinds("enter", "exit") if event[1] is producer]
    # level 0 around the whole evaluation; level 1 around each of the 4 anext calls (3 chunks + end)
    assert mine[0] == ("enter", producer, 0)
    assert mine[-1] == ("exit", producer, 0)
    assert mine[1:-1] == [("enter", producer, 1), ("exit", producer, 1)] * 4


def test_on_node_stalled_names_the_stalled_consumer_and_its_input() -> None:
    @node(stream_in=["xs"])
    async def Reader(prefix: str, xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.chunks = Chunks()
        f.reader = Reader("p", f.chunks)
    with Recorder() as recorder:
        f.run_until_complete()
    stalls = recorder.kinds("stalled")
    assert stalls, "the reader waits for chunks 1, 2 and the end"
    assert all(event[1:] == (f.reader, f.reader, 1) for event in stalls)


def test_on_stream_error_when_the_producer_fails() -> None:
    streams: list[Stream[int]] = []

    @node
    async def Broken():
        yield 1
        raise ValueError("broken")

    @node(stream_in=["xs"])
    async def Reader(xs: Stream[int]):
        streams.append(xs)
        return [x async for x in xs]

    with vflow(grace=0.01) as f:
        f.broken = Broken()
        f.reader = Reader(f.broken)
    with Recorder() as recorder, pytest.raises(ExceptionGroup):
        f.run_until_complete(terminate_on_node_error=False)
    errors = recorder.kinds("error")
    assert len(errors) == 1
    _, stream, error = errors[0]
    assert stream is streams[0]
    assert isinstance(error, NodeExecutionError) and error.node is f.broken
    assert ("next", stream, 1) in recorder.events
    assert ("end", stream) not in recorder.events


def test_instruments_only_observe() -> None:
    """The same flow gives the same result and order with and without an instrument."""

    def run(instrumented: bool) -> tuple[Any, list[str]]:
        order: list[str] = []

        @node
        async def Source():
            for i in range(4):
                order.append(f"P{i}")
                yield i

        @node(stream_in=["xs"])
        async def Reader(xs: Stream[int]):
            got = []
            async for x in xs:
                order.append(f"R{x}")
                got.append(x)
            return got

        with vflow() as f:
            f.source = Source()
            f.reader = Reader(f.source)
        if instrumented:
            with Recorder():
                f.run_until_complete()
        else:
            f.run_until_complete()
        return f.reader.get_data(), order

    assert run(True) == run(False)
