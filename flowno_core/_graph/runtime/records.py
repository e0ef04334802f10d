"""Per-node and per-connection runtime state of a flow (plain slotted records).

Theory of operation: the runtime keeps one ``NodeState`` per finalized node and one
``Connection`` per connected input port. Everything the scheduler needs is a field here, so every
decision is O(degree): a node reaches its producers through ``inputs`` and its consumers through
``outputs``, a node task reaches its state through ``Task.owner``'s ``_runtime``.

``Phase`` is the node's place in its evaluation cycle; ``public_status`` maps it to flowno's
``NodeTaskStatus`` values for instruments. A node is *busy* (counted by the runtime to detect
quiescence) from the moment it is scheduled until its evaluation ends, except while it is a
streaming producer paused between chunks with nobody asking for more.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._kernel.commands import Park
from ..._kernel.parking import reschedule
from ..rules.generations import Generation, clip_generation, cmp_generation, stitched_generation
from ..description.finalized import FinalizedInputPort, FinalizedInputPortRef

if TYPE_CHECKING:
    from ..._kernel.task import Task
    from ..description.finalized import FinalizedNode, NodeData


class NodeTaskStatus:
    """flowno's node task states, as seen by ``on_node_status_change``."""

    @dataclass(frozen=True)
    class Queued:
        """Scheduled to start an evaluation."""

    @dataclass(frozen=True)
    class Executing:
        """Running (or awaiting something inside) an evaluation."""

    @dataclass(frozen=True)
    class WaitingForStartNextGeneration:
        """Idle: -1 never ran, 0 after a full evaluation, 1 a generator paused between chunks."""

        run_level: int

    @dataclass(frozen=True)
    class Error:
        """The node failed in this run."""

    @dataclass(frozen=True)
    class Stalled:
        """A streaming consumer waiting for the next chunk on ``stalling_input``."""

        stalling_input: FinalizedInputPortRef[Any]

    Type = Queued | Executing | WaitingForStartNextGeneration | Error | Stalled


class Phase(enum.Enum):
    IDLE = "idle"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"  # a generator between chunks
    STALLED = "stalled"  # reading a stream that has no new chunk yet
    BARRIER = "barrier"  # waiting for level-0 consumers to read the previous final value
    FAILED = "failed"


class NodeSlot:
    """The waitable a node task parks on between evaluations (and between chunks)."""

    __slots__ = ("task", "park_command")

    def __init__(self) -> None:
        self.task: Task | None = None
        self.park_command = Park(self)

    def park(self, task: "Task") -> None:
        self.task = task

    def abort(self, task: "Task") -> None:
        self.task = None

    def wake(self, value: Any = None) -> bool:
        task = self.task
        if task is None:
            return False
        self.task = None
        reschedule(task, value)
        return True

    def describe(self) -> str:
        return "the next evaluation"


class Chunk:
    """A published chunk retained for streaming connections that have not read it yet."""

    __slots__ = ("data", "remaining")

    def __init__(self, data: tuple[Any, ...], remaining: int) -> None:
        self.data = data
        self.remaining = remaining


class NodeState:
    """Everything the runtime tracks about one node."""

    __slots__ = (
        "node",
        "draft",
        "data",
        "order",
        "ports",
        "inputs",
        "outputs",
        "stream_outputs",
        "slot",
        "task",
        "phase",
        "busy",
        "queued",
        "pulled",
        "wave",
        "rewant",
        "demand",
        "holders",
        "skipped",
        "limit",
        "defaulted",
        "streams",
        "stalled_on",
        "level0_pending",
        "lap",
        "lap_open",
        "lap_streamed",
        "lap_aborted",
        "chunks",
        "chunk_base",
        "chunk_index",
        "cancelled_streams",
        "evaluations",
        "port_conns",
        "start_pending",
        "scc",
        "missing_final",
    )

    def __init__(self, node: "FinalizedNode", order: int) -> None:
        self.node = node
        self.draft = node._draft_node
        self.data: NodeData = node._data
        self.order = order
        self.ports: list[FinalizedInputPort[Any]] = []
        self.inputs: list[Connection] = []
        self.outputs: list[Connection] = []
        self.stream_outputs: list[Connection] = []
        self.slot = NodeSlot()
        self.task: Task | None = None
        self.phase = Phase.IDLE
        self.busy = False
        self.queued = False
        self.pulled = False  # waiting for its upstream (a search passed through it)
        self.wave = -1  # the resolution wave in which a search last passed through it
        self.rewant = False
        self.demand = False
        self.holders = 0
        self.skipped = False
        self.limit: Generation | tuple[()] = ()
        self.defaulted: list[int] = []
        self.streams: list[Any] = []
        self.stalled_on: Connection | None = None
        self.level0_pending = 0
        # the current (or last) lap of a streaming producer
        self.lap = -1
        self.lap_open = False
        self.lap_streamed = False
        self.lap_aborted = False
        self.chunks: deque[Chunk] = deque()
        self.chunk_base = 0
        self.chunk_index = -1
        self.cancelled_streams: list[Any] = []
        self.evaluations = 0
        self.port_conns: list[Connection | None] = []
        self.start_pending = False
        self.scc = order  # id of the node's strongly connected component in the static graph
        self.missing_final: int | None = None  # a lap cut short by a stop: its final value never existed

    def public_status(self) -> Any:
        phase = self.phase
        if phase is Phase.IDLE:
            return NodeTaskStatus.WaitingForStartNextGeneration(-1 if self.data.gen is None else 0)
        if phase is Phase.SCHEDULED:
            return NodeTaskStatus.Queued()
        if phase is Phase.PAUSED:
            return NodeTaskStatus.WaitingForStartNextGeneration(1)
        if phase is Phase.STALLED and self.stalled_on is not None:
            return NodeTaskStatus.Stalled(self.node.input(self.stalled_on.port_index))
        if phase is Phase.FAILED:
            return NodeTaskStatus.Error()
        return NodeTaskStatus.Executing()

    def __repr__(self) -> str:
        return repr(self.node)


class Connection:
    """One connected input port: ``consumer.input(port_index) <- producer.output(output_index)``."""

    __slots__ = (
        "consumer",
        "port_index",
        "port",
        "producer",
        "output_index",
        "streaming",
        "minimum_run_level",
        "lap",
        "next_index",
        "active",
        "holding",
        "finished",
        "cancelled",
        "bound_lap",
        "consumed_lap",
        "needs_final",
        "waiter",
        "park_command",
    )

    def __init__(self, consumer: NodeState, port: FinalizedInputPort[Any], producer: NodeState, output_index: int) -> None:
        self.consumer = consumer
        self.port_index = port.port_index
        self.port = port
        self.producer = producer
        self.output_index = output_index
        self.minimum_run_level = port.minimum_run_level
        self.streaming = port.minimum_run_level >= 1
        # stream read state, for the producer's lap ``lap``
        self.lap = -1
        self.next_index = 0
        self.active = False
        self.holding = False
        self.finished = False
        self.cancelled = False
        self.bound_lap = -1  # the lap of the Stream the consumer's current evaluation holds (-1: none)
        self.consumed_lap = -1  # the last lap an evaluation of the consumer got a Stream of
        # level-0 barrier: the consumer has not gathered the producer's latest final value
        self.needs_final = False
        self.waiter: Task | None = None
        self.park_command = Park(self)

    # waitable protocol: a consumer parks here while its stream has nothing new
    def park(self, task: "Task") -> None:
        self.waiter = task

    def abort(self, task: "Task") -> None:
        self.waiter = None

    def describe(self) -> str:
        return f"a chunk from {self.producer!r} on input {self.port_index}"

    def is_stale(self) -> bool:
        """The staleness rule (SPEC §2.4) for this port, with a fast path for plain final values."""
        produced = self.producer.data.gen
        consumed = self.consumer.data.gen
        stitch = self.port.stitch_level_0
        if produced is not None and consumed is not None and len(produced) == 1 and len(consumed) == 1:
            return produced[0] + stitch <= consumed[0]
        missing = self.producer.missing_final
        if missing is not None and produced is not None and len(produced) > 1 and produced[0] - 1 == missing:
            # mid-lap after a lap cut short by a stop: the final value just before was never made
            complete = (missing - 1,) if missing >= 1 else None
            if self.minimum_run_level == 0:
                return cmp_generation(stitched_generation(complete, stitch), consumed) <= 0
        effective = stitched_generation(clip_generation(produced, self.minimum_run_level), stitch)
        return cmp_generation(effective, consumed) <= 0

    def __repr__(self) -> str:
        return f"{self.consumer!r}.input({self.port_index}) <- {self.producer!r}.output({self.output_index})"


def keeps_going(producer: NodeState) -> bool:
    """Whether a paused producer should go on without anyone asking for its next chunk.

    It should when it holds one of its own producers back (a pass-through that has not read its
    input's latest chunk: if it waited, its producer, and whoever waits for that one, would wait
    forever) or when nobody is left to read or wait for this lap (D7: then it runs to its end).
    """
    for conn in producer.inputs:
        if conn.holding:
            return True
    for conn in producer.outputs:
        if conn.streaming:
            if not conn.finished:
                return False
        elif not conn.consumer.skipped:
            return False
    return True
