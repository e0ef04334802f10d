"""Per-node and per-connection runtime records of a flow (plain slotted data).

Theory of operation: the runtime keeps one ``NodeState`` per finalized node and one ``Connection``
per connected input port. Everything a scheduling decision needs is a field here, so every decision
is O(degree): a node reaches its producers through ``inputs`` and its consumers through
``outputs``, and a node task reaches its record through the finalized node's ``_runtime``.

A node's ``phase`` and its stream lap's ``lap_phase`` are moved only by the tables of
``rules.lifecycle`` (``apply``, counted in the run, and ``move_lap``); ``pending`` holds the requests that
wait for the node to be able to act on them. ``NodeTaskStatus`` is flowno's public view of a phase,
as instruments see it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..._kernel.commands import Park
from ..._kernel.parking import reschedule
from ..control.policy import Policy
from ..description.finalized import FinalizedInputPort, FinalizedNode, NodeData
from ..rules.generations import Generation
from ..rules.lifecycle import LAP_TABLE, LapEvent, LapPhase, NodePhase, Request, follow
from ..rules.staleness import is_stale

if TYPE_CHECKING:
    from ..._kernel.task import Task


#: ``priority=`` as ``NodeState.rank``: 0 (normal, falsy) is the plain path of ``Scheduler.start``
HIGH, NORMAL, LOW = 1, 0, -1
RANKS = {"high": HIGH, "normal": NORMAL, "low": LOW}

class NodeSlot:
    """The waitable a node task parks on between evaluations (and between chunks, and at the barrier)."""

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


class Resume:
    """What a node does first in the next run, because a stop ended the run under it."""

    __slots__ = ("args", "defaulted", "final", "streamed")

    def __init__(self) -> None:
        self.args: list[Any] | None = None  # replay the cut evaluation with the inputs it gathered
        self.defaulted: list[int] = []
        self.final: tuple[Any, ...] | None | object = _NOTHING  # publish a value computed before the stop
        self.streamed = False

    @property
    def publishes(self) -> bool:
        return self.final is not _NOTHING


_NOTHING = object()

#: the arguments of a node that is not evaluating
NO_ARGS: list[Any] = []



def observe(state: NodeState, observer: Callable[[NodeState, Any, int], None]) -> None:
    """Call ``observer(state, data, run_level)`` for everything ``state`` publishes from now on."""
    state.observers = [*(state.observers or ()), observer]


def unobserve(state: NodeState, observer: Callable[[NodeState, Any, int], None]) -> None:
    remaining = [o for o in state.observers or () if o != observer]  # (!=: bound methods are new objects each time)
    state.observers = remaining or None


def invoker(draft: Any) -> Any:
    """What calls a node's code: a function node's own function (its generated ``call`` only
    passes the arguments on, one frame per evaluation), else the draft's bound ``call``."""
    if getattr(type(draft).call, "calls_wrapped", False):
        return type(draft).__wrapped__  # (read on the class: on the instance it would bind)
    return draft.call

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
        "port_conns",
        "scc",
        "slot",
        "task",
        "phase",
        "pending",
        "queued",
        "wave",
        "seq",
        "limit",
        "args",
        "defaulted",
        "streams",
        "stalled_on",
        "level0_pending",
        "resume",
        "final_at_barrier",
        "lap",
        "lap_phase",
        "chunks",
        "chunk_base",
        "chunk_index",
        "holders",
        "cancelled_streams",
        "cut_inputs",
        "policy",
        "optional",
        "attempts",
        "rank",
        "invoke",
        "observers",
    )

    def __init__(self, node: FinalizedNode, order: int) -> None:
        self.node = node
        self.draft = node._draft_node
        self.data: NodeData = node._data
        self.order = order
        self.ports: list[FinalizedInputPort[Any]] = []
        self.inputs: list[Connection] = []
        self.outputs: list[Connection] = []
        self.stream_outputs: list[Connection] = []
        self.port_conns: list[Connection | None] = []
        self.scc = order  # id of the node's strongly connected component in the static graph
        self.slot = NodeSlot()
        self.task: Task | None = None
        self.phase = NodePhase.IDLE
        self.pending = Request.NONE
        self.queued = False  # on the resolution queue
        self.wave = -1  # the resolution wave in which a search last passed through it
        self.seq = 0  # when it was last scheduled or woken (orders a stopped run's continuation)
        self.limit: Generation | tuple[()] = ()
        # the evaluation in progress
        self.args: list[Any] = NO_ARGS
        self.defaulted: list[int] = []  # ports that got their default: stitched when it publishes
        self.streams: list[Any] = []
        self.stalled_on: Connection | None = None
        self.level0_pending = 0  # level-0 consumers that have not gathered the latest final value
        self.resume: Resume | None = None  # set when a stop cut its work (see continuation.py)
        self.final_at_barrier: tuple[Any, ...] | None = None  # the value it waits to publish (BARRIER)
        # the current (or last) lap of a streaming node
        self.lap = -1
        self.lap_phase = LapPhase.NONE
        self.chunks: deque[Chunk] = deque()
        self.chunk_base = 0
        self.chunk_index = -1
        self.holders = 0  # active readers that have not read the latest chunk (D2)
        self.cancelled_streams: list[Any] = []
        self.cut_inputs: list[Any] | None = None  # what that lap had consumed (Connection.consumed)
        # run control (``control.policy``): None is the default policy (the plain path)
        self.policy: Policy | None = None
        self.optional: frozenset[int] = self.draft._optional_ports  # ports that default when their producer skips
        self.attempts = 0  # attempts of the evaluation in progress (retries)
        self.rank = NORMAL  # order among runnable nodes (``priority=``, see RANKS)
        self.invoke = invoker(self.draft)  # calls the node's code with the gathered arguments
        # ``observe(state, data, run_level)`` for every value and chunk it publishes (checkpoints,
        # watchers); None when nobody observes it, the plain path
        self.observers: list[Callable[[NodeState, Any, int], None]] | None = None

    def is_out(self) -> bool:
        """Failed or skipped: not evaluated again in this run (nobody waits for it to read)."""
        phase = self.phase
        return phase is NodePhase.SKIPPED or phase is NodePhase.FAILED or bool(self.pending & Request.SKIP)

    def __repr__(self) -> str:
        return repr(self.node)


def move_lap(state: NodeState, event: LapEvent) -> None:
    """Move the node's lap by ``event`` (the lap table, SPEC §3)."""
    state.lap_phase = follow(LAP_TABLE, state.lap_phase, event, f"the lap of {state!r}")


class Connection:
    """One connected input port: ``consumer.input(port_index) <- producer.output(output_index)``."""

    __slots__ = (
        "consumer",
        "port_index",
        "port",
        "producer",
        "output_index",
        "streaming",
        "stream_cycle",
        "minimum_run_level",
        "lap",
        "next_index",
        "active",
        "holding",
        "finished",
        "cancelled",
        "bound_lap",
        "consumed_lap",
        "lost_lap",
        "restart_from_default",
        "consumed",
        "read_lap",
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
        self.stream_cycle = False  # on a cycle of streaming connections (set by build.py)
        # stream read state, for the producer's lap ``lap``
        self.lap = -1
        self.next_index = 0
        self.active = False
        self.holding = False
        self.finished = False
        self.cancelled = False
        self.bound_lap = -1  # the lap of the Stream the consumer's current evaluation holds (-1: none)
        self.consumed_lap = -1  # the last lap an evaluation of the consumer got a Stream of
        self.lost_lap = -1  # a lap a stop cut the consumer's reading of: it reads the next lap instead
        self.restart_from_default = False  # ... or starts from its default (a ring of streams, continuation.py)
        self.consumed: Any = None  # what the consumer's latest evaluation read: a final's generation or a lap
        self.read_lap = -1  # the last lap an evaluation of the consumer that completed read (streams)
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
        """The staleness rule (``rules.staleness``) for this port."""
        return is_stale(
            self.producer.data.gen,
            self.consumer.data.gen,
            self.minimum_run_level,
            self.port.stitch_level_0,
        )

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
        elif conn.consumer is not producer and not conn.consumer.is_out():
            return False  # it pulls the final value when it wants it (reading its own: go on)
    return True
