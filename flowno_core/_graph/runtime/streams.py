"""Streams: how chunks travel from a streaming producer to its ``stream_in`` consumers.

Theory of operation
-------------------
A producer's *lap* is one run of its generator (main generation k); its chunks are numbered
0, 1, ... within the lap. The producer keeps the chunks of its latest lap in a deque, each with a
``remaining`` count of live connections that have not read it; a chunk is dropped as soon as that
count reaches 0 (D14). A connection is *live* for a lap until its consumer reads the end, cancels,
or ends the evaluation that held the stream; a connection that has not started reading is live,
so its chunks wait for it (D2, D3).

Back-pressure (D2): a connection is *active* from its first read until it is finished. After
publishing chunk j, the producer counts the active connections that have not read chunk j
(``holders``); it is resumed only when someone wants more (or it must go on) *and* ``holders``
is 0, so it is never more than one chunk ahead of its slowest active consumer. The lap's own
phases (none, open, closed, cut) are the lap table of ``rules.lifecycle``; the scheduler is reached
through the ``Demand`` protocol, so this module sits below it.

A ``ConnectionStream`` (the public ``Stream``) is the consumer's view of one connection for one
lap; a new one is made for every evaluation. When the producer starts a newer lap, an old Stream
simply ends. A ``stream_in`` port fed by a coroutine node gets a ``ValueStream`` that yields the
value once (D3).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, TypeVar

from ..._kernel.parking import reschedule
from ...errors import NodeExecutionError
from ..description.finalized import FinalizedInputPortRef, FinalizedOutputPortRef
from ..description.ports import Stream
from ..rules.lifecycle import LapEvent, LapPhase, NodePhase
from ..rules.markers import Skipped, StreamSkipped
from .instruments import FlowInstrument
from .records import Connection, NodeState, move_lap

T = TypeVar("T")

#: a generator paused between chunks (nobody asked for more, or waiting for a reader to catch up)
BETWEEN_CHUNKS = frozenset((NodePhase.PAUSED, NodePhase.HELD))


class Demand(Protocol):
    """What streams ask of the scheduler (``scheduler.Scheduler`` implements it)."""

    @property
    def instrument(self) -> FlowInstrument | None: ...

    def gate_opened(self, producer: NodeState) -> None: ...

    def want_more(self, producer: NodeState) -> None: ...

    def step_producer(self, conn: Connection) -> bool: ...

    async def stall(self, conn: Connection) -> None: ...


# -- producer-side bookkeeping ---------------------------------------------------------------------
def open_lap(producer: NodeState, lap: int) -> None:
    """The producer starts lap ``lap``: forget the previous lap and every connection's read state."""
    producer.lap = lap
    move_lap(producer, LapEvent.OPEN)
    producer.chunks.clear()
    producer.chunk_base = 0
    producer.chunk_index = -1
    producer.holders = 0
    producer.cancelled_streams.clear()
    for conn in producer.stream_outputs:
        conn.lap = lap
        conn.next_index = 0
        conn.active = False
        conn.holding = False
        conn.cancelled = False
        conn.finished = conn.consumer.is_out()


def close_lap(producer: NodeState) -> None:
    """The lap ended (its final value is published, or the producer failed): readers see the end."""
    move_lap(producer, LapEvent.CLOSE)
    wake_readers(producer)


def wake_readers(producer: NodeState) -> None:
    """Wake every consumer parked on one of this producer's streams (they run before it again)."""
    for conn in reversed(producer.stream_outputs):
        task = conn.waiter
        if task is not None:
            conn.waiter = None
            reschedule(task, None, None, front=True)


def _trim(producer: NodeState) -> None:
    chunks = producer.chunks
    while chunks and chunks[0].remaining <= 0:
        chunks.popleft()
        producer.chunk_base += 1


def finish_connection(demand: Demand, conn: Connection) -> None:
    """The connection is done with the producer's current lap: release its chunks and its hold."""
    if conn.finished:
        return
    conn.finished = True
    conn.active = False
    producer = conn.producer
    if conn.holding:
        conn.holding = False
        producer.holders -= 1
        if producer.holders == 0:
            demand.gate_opened(producer)
    base = producer.chunk_base
    chunks = producer.chunks
    for index in range(max(conn.next_index, base), producer.chunk_index + 1):
        chunks[index - base].remaining -= 1
    _trim(producer)
    if producer.phase in BETWEEN_CHUNKS and not producer.holders:
        demand.gate_opened(producer)  # the last reader may have left: the producer may run to its end


def rebind_connection(conn: Connection) -> None:
    """A consumer evaluates again within the same lap: it becomes live again from where it was."""
    producer = conn.producer
    conn.finished = False
    base = producer.chunk_base
    conn.next_index = max(conn.next_index, base)
    for index in range(conn.next_index, producer.chunk_index + 1):
        producer.chunks[index - base].remaining += 1


def make_stream(demand: Demand, conn: Connection) -> "ConnectionStream[Any]":
    """The Stream argument for a ``stream_in`` port whose producer has data."""
    producer = conn.producer
    gen = producer.data.gen
    lap_phase = producer.lap_phase
    if lap_phase is LapPhase.CUT or (conn.lost_lap == producer.lap and lap_phase is not LapPhase.NONE):
        # the lap was cut short by a stop, or a stop cut this consumer's reading of it (its chunks
        # are gone): read the lap the producer runs next (D5 with D13)
        lap = producer.lap + 1
        conn.bound_lap = conn.consumed_lap = lap
        return ConnectionStream(demand, conn, lap)
    if lap_phase is not LapPhase.NONE and gen is not None and producer.lap == gen[0]:
        if conn.finished and not conn.cancelled:
            rebind_connection(conn)
        conn.bound_lap = conn.consumed_lap = producer.lap
        return ConnectionStream(demand, conn, producer.lap)
    final = producer.data.get(0)
    if final is None or final.__class__ is Skipped:  # (a skipped generation: the marker itself)
        return ValueStream(demand, conn, final)
    return ValueStream(demand, conn, final[conn.output_index])


# -- the consumer's view ---------------------------------------------------------------------------
class ConnectionStream(Stream[T]):
    """The public ``Stream`` of one connection for one lap of its producer."""

    def __init__(self, demand: Demand, conn: Connection, lap: int) -> None:
        self._demand = demand
        self._conn = conn
        self._lap = lap

    @property
    def input(self) -> FinalizedInputPortRef[T]:
        conn = self._conn
        return conn.consumer.node.input(conn.port_index)

    @property
    def output(self) -> FinalizedOutputPortRef[T]:
        conn = self._conn
        return conn.producer.node.output(conn.output_index)

    def __aiter__(self) -> AsyncIterator[T]:
        instrument = self._demand.instrument
        if instrument is not None:
            instrument.on_stream_start(self)
        return self

    def _ended(self) -> None:
        instrument = self._demand.instrument
        if instrument is not None:
            instrument.on_stream_end(self)

    def __repr__(self) -> str:
        return f"Stream({self.output!r}->{self.input!r}, run_level={self.run_level})"

    async def __anext__(self) -> T:
        conn = self._conn
        producer = conn.producer
        lap = self._lap
        while True:
            if conn.lap != lap:
                if conn.lap < lap:  # bound to the lap the producer runs next: wait for it to open
                    if not self._demand.step_producer(conn):
                        await self._demand.stall(conn)
                    continue
                self._ended()
                raise StopAsyncIteration
            if not conn.cancelled:
                index = conn.next_index
                if index <= producer.chunk_index:
                    return self._take(conn, producer, index)  # type: ignore[no-any-return]
            if producer.lap_phase is not LapPhase.OPEN:
                finish_connection(self._demand, conn)
                final = producer.data.final
                if final.__class__ is Skipped and conn.port_index not in conn.consumer.optional:
                    raise StreamSkipped(final)  # type: ignore[arg-type]
                if producer.phase is NodePhase.FAILED:
                    error = NodeExecutionError(
                        producer.node, f"the producer {producer.node!r} of this stream failed"
                    )
                    instrument = self._demand.instrument
                    if instrument is not None:
                        instrument.on_stream_error(self, error)
                    raise error
                self._ended()
                raise StopAsyncIteration
            if not self._demand.step_producer(conn):
                await self._demand.stall(conn)

    def _take(self, conn: Connection, producer: NodeState, index: int) -> Any:
        conn.active = True
        base = producer.chunk_base
        chunk = producer.chunks[index - base]
        conn.next_index = index + 1
        remaining = chunk.remaining - 1
        chunk.remaining = remaining
        if remaining <= 0 and index == base:
            chunks = producer.chunks
            chunks.popleft()
            producer.chunk_base = base + 1
            if chunks and chunks[0].remaining <= 0:
                _trim(producer)
        if index == producer.chunk_index:
            if conn.holding:
                conn.holding = False
                holders = producer.holders - 1
                producer.holders = holders
                if not holders and producer.phase in BETWEEN_CHUNKS:
                    self._demand.gate_opened(producer)
        elif not conn.holding and producer.lap_phase is LapPhase.OPEN:
            conn.holding = True  # a late reader holds the producer until it catches up
            producer.holders += 1
        value = chunk.data[conn.output_index]
        instrument = self._demand.instrument
        if instrument is not None:
            instrument.on_stream_next(self, value)
        return value

    async def cancel(self) -> None:
        """Stop receiving this stream: the producer gets ``StreamCancelled`` at its next step.

        Cancelling a stream that already ended does nothing.
        """
        conn = self._conn
        producer = conn.producer
        if conn.lap != self._lap or conn.cancelled:
            return
        conn.cancelled = True
        finish_connection(self._demand, conn)
        if producer.lap_phase is LapPhase.OPEN:  # after the end of the lap there is nothing to tell the producer
            producer.cancelled_streams.append(self)
            self._demand.want_more(producer)


class ValueStream(ConnectionStream[T]):
    """A one-item stream: what a ``stream_in`` port receives from a non-streaming producer (D3)."""

    def __init__(self, demand: Demand, conn: Connection, value: T) -> None:
        super().__init__(demand, conn, -1)
        self._value = value
        self._done = False

    async def __anext__(self) -> T:
        if self._done:
            self._ended()
            raise StopAsyncIteration
        self._done = True
        if self._value.__class__ is Skipped:  # the producer skipped: skip too, or just end (optional)
            if self._conn.port_index in self._conn.consumer.optional:
                self._ended()
                raise StopAsyncIteration
            raise StreamSkipped(self._value)  # type: ignore[arg-type]
        instrument = self._demand.instrument
        if instrument is not None:
            instrument.on_stream_next(self, self._value)
        return self._value

    async def cancel(self) -> None:
        """Nothing to cancel: the single value is already there."""
        self._done = True

