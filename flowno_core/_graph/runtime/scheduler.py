"""Scheduling: the resolution queue, starting nodes, and the demand that drives streams.

Theory of operation: a node is *wanted* when it is put on the resolution queue (every node when a
run starts, every consumer after each chunk or final value its producer publishes). ``_resolve``
starts a wanted node whose inputs are all fresh, and otherwise asks the pure resolver which
upstream nodes to start; nodes the search passed through are marked as waiting (``pulled``) and
later searches stop at them, except inside the head's own strongly connected component, where a
cycle can close, unless they were explored in the same *wave* (one draining of the queue, during
which no node runs). A node wanted while busy by data its evaluation did not consume runs again
afterwards (``rewant``). Paused streaming producers are resumed by ``_want_more`` / ``_gate_opened``
(see ``state.keeps_going``); a stalled reader may run its producer's next step inline.

``Scheduler`` is a mixin of ``Flow`` (runtime.py), which owns the attributes it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections import deque

from ..._kernel.loop import EventLoop
from ..._kernel.traps import park_trap
from ...errors import MissingDefaultError, TerminateLimitReached
from . import evaluation, gc_pause
from ..rules.generations import cmp_generation
from .instruments import FlowInstrument
from ..description.ports import EMPTY
from ..rules.resolver import UnbreakableCycle, solve
from .records import Connection, NodeSlot, NodeState, NodeTaskStatus, Phase, keeps_going
from .streams import ValueStream, finish_connection

class Scheduler:
    """Resolution and demand (a mixin of Flow)."""

    event_loop: EventLoop
    _queue: deque[NodeState]
    _busy: int
    _processing: bool
    _running: bool
    _stopping: bool
    _done: bool
    _done_slot: NodeSlot
    _instrument: FlowInstrument | None
    _wave: int
    _frozen: bool
    _tasks_started: int

    if TYPE_CHECKING:  # provided by the other mixin of Flow

        def _terminate(self, error: BaseException) -> None:  # pragma: no cover - provided by Endings
            ...

    def _enqueue(self, state: NodeState) -> None:
        instrument = self._instrument
        if instrument is not None:
            instrument.on_resolution_queue_put(self, state.node)
        if not state.queued:
            state.queued = True
            self._queue.append(state)

    def _process(self) -> None:
        """Resolve queued nodes until the queue is empty; then check for quiescence."""
        if self._processing or self._stopping:
            return
        self._processing = True
        self._wave += 1  # within one wave no node runs, so what a search found stays true
        queue = self._queue
        instrument = self._instrument
        try:
            while queue:
                state = queue.popleft()
                state.queued = False
                if instrument is not None:
                    instrument.on_resolution_queue_get(self, state.node)
                self._resolve(state)
                if self._stopping:
                    return
        finally:
            self._processing = False
        if not self._busy and not queue and not self._done and self._running:
            self._done = True
            self._done_slot.wake()

    def _resolve(self, head: NodeState) -> None:
        if head.skipped:
            return
        phase = head.phase
        if phase is Phase.PAUSED:
            if self._ready(head):
                self._want_more(head)
            return
        if phase is not Phase.IDLE:
            return
        wave = self._wave
        explore = False
        stale = False
        for conn in head.inputs:
            if conn.is_stale():
                stale = True
                producer = conn.producer
                if (producer.scc == head.scc and producer.wave != wave) or (
                    producer.phase is not Phase.SCHEDULED and not (producer.pulled and producer.phase is Phase.IDLE)
                ):
                    explore = True
                    break
        instrument = self._instrument
        if not stale:
            if instrument is not None:
                instrument.on_solving_nodes(self, head.node, [head.node])
                instrument.on_node_visited(self, head.node)
            self._start(head)
            return
        if not explore:  # every stale producer is already scheduled or waiting for its own upstream
            if instrument is not None:
                instrument.on_solving_nodes(self, head.node, [])
            head.pulled = True
            head.wave = wave
            return
        try:
            solution = solve(
                head,
                self._stale_edges,
                lambda state: state is head
                or (
                    state.phase is Phase.IDLE
                    and not state.skipped
                    and (not state.pulled or (state.scc == head.scc and state.wave != wave))
                ),
                lambda state, port: state.ports[port].default_value is not EMPTY,
                lambda state: state.order,
            )
        except UnbreakableCycle as cycle:
            self._terminate(MissingDefaultError({state.node: ports for state, ports in cycle.members.items()}))
            return
        instrument = self._instrument
        if instrument is not None:
            instrument.on_solving_nodes(self, head.node, [state.node for state in solution.chosen])
        for state in solution.waiting:
            if state.phase is Phase.IDLE:
                state.pulled = True
                state.wave = wave
        for state in solution.chosen:
            if instrument is not None:
                instrument.on_node_visited(self, state.node)
            if state.skipped:
                continue
            phase = state.phase
            if phase is Phase.IDLE:
                if state is not head and state.pulled and (state.scc != head.scc or state.wave == wave):
                    continue  # not looked into: it waits for its own upstream
                self._start(state)
            elif phase is not Phase.SCHEDULED and phase is not Phase.FAILED:
                self._want_more(state)  # a producer mid-lap (paused, or still publishing): ask for more

    @staticmethod
    def _stale_edges(state: NodeState) -> list[tuple[int, NodeState]]:
        return [(conn.port_index, conn.producer) for conn in state.inputs if conn.is_stale()]

    @staticmethod
    def _ready(state: NodeState) -> bool:
        for conn in state.inputs:
            if conn.is_stale():
                return False
        return True

    def _start(self, state: NodeState) -> None:
        if self._stopping:
            return
        state.pulled = False
        instrument = self._instrument
        if instrument is not None:
            old = state.public_status()
        state.phase = Phase.SCHEDULED
        if not state.busy:
            state.busy = True
            self._busy += 1
        if instrument is not None:
            instrument.on_node_status_change(self, state.node, old, state.public_status())
        if state.task is None:
            task = evaluation.node_task(self, state)  # type: ignore[arg-type]
            state.task = self.event_loop.start_task(task, state.node)
            self._tasks_started += 1
            if self._frozen and not self._tasks_started % gc_pause.REFREEZE_EVERY:
                gc_pause.refreeze()
        elif not state.slot.wake():
            state.start_pending = True

    # ------------------------------------------------------------------ events from node tasks
    def _published(self, state: NodeState, run_level: int) -> None:
        """After a chunk or a final value: check the limit, then want every consumer."""
        limit = state.limit
        if limit != () and cmp_generation(state.data.gen, limit) >= 0:
            instrument = self._instrument
            if instrument is not None:
                instrument.on_node_generation_limit(self, state.node, limit)
            self._terminate(TerminateLimitReached())
            return
        lap = state.lap
        watched = self._instrument is not None
        wanted: list[NodeState] = []
        for conn in state.outputs:
            if conn.cancelled:
                continue
            consumer = conn.consumer
            if conn.streaming and conn.consumed_lap == lap and state.lap_streamed:
                continue  # it already has (or had) this lap's Stream: nothing new for it
            phase = consumer.phase
            if phase is not Phase.IDLE and phase is not Phase.SCHEDULED:
                # mid-evaluation with its inputs already gathered: unless this is the lap its
                # Stream is reading, the evaluation did not consume it, so run it again afterwards
                if not (conn.streaming and conn.bound_lap == lap):
                    consumer.rewant = True
            if consumer.busy and not watched:
                continue  # resolving a busy node does nothing
            wanted.append(consumer)
        if not wanted:
            return
        if not watched and not self._queue and not self._processing:
            # The common case, without the queue: when every wanted consumer can simply start,
            # starting them in order is exactly what resolving the queue would do.
            for consumer in wanted:
                if consumer.phase is not Phase.IDLE or consumer.skipped or not self._ready(consumer):
                    break
            else:
                for consumer in wanted:
                    if consumer.phase is Phase.IDLE:
                        self._start(consumer)
                return
        for consumer in wanted:
            self._enqueue(consumer)
        self._process()

    def _evaluation_ended(self, state: NodeState) -> None:
        for stream in state.streams:
            conn = stream._conn
            conn.bound_lap = -1
            if stream._lap == conn.lap and not isinstance(stream, ValueStream):
                finish_connection(self, conn)  # type: ignore[arg-type]
        state.streams = []
        state.defaulted = []
        instrument = self._instrument
        if instrument is not None:
            old = state.public_status()
        if state.phase is not Phase.FAILED:
            state.phase = Phase.IDLE
        if instrument is not None:
            instrument.on_node_status_change(self, state.node, old, state.public_status())
        if state.busy:
            state.busy = False
            self._busy -= 1
        if state.rewant:
            state.rewant = False
            if not state.skipped and state.phase is not Phase.FAILED:
                self._enqueue(state)
        if self._queue or not self._busy:
            self._process()  # resolve what is queued, or notice the end of the run

    def _want_more(self, producer: NodeState) -> None:
        """Someone wants the producer's next chunk (or the rest of its lap)."""
        phase = producer.phase
        if phase is Phase.PAUSED:
            producer.demand = True
            if producer.holders == 0:
                self._resume_producer(producer)
        elif phase is Phase.IDLE:
            self._enqueue(producer)
            self._process()
        else:
            producer.demand = True

    def _gate_opened(self, producer: NodeState) -> None:
        """A paused producer's readers caught up, or left, or it started holding its own producer
        back: resume it if it should run (someone wants more, or it must go on)."""
        if producer.phase is Phase.PAUSED and not producer.holders and (producer.demand or keeps_going(producer)):
            self._resume_producer(producer)

    def _resume_producer(self, producer: NodeState) -> None:
        if self._stopping:
            return
        producer.demand = False
        if not producer.busy:
            producer.busy = True
            self._busy += 1
        producer.slot.wake()

    def _paused_without_demand(self, producer: NodeState) -> None:
        if producer.busy:
            producer.busy = False
            self._busy -= 1
            if not self._busy:
                self._process()  # possibly the end of the run

    async def _stall(self, conn: Connection) -> None:
        """The consumer's stream has nothing new: wait for the producer (and ask it for more)."""
        consumer = conn.consumer
        producer = conn.producer
        instrument = self._instrument
        if instrument is not None:
            old = consumer.public_status()
        previous = consumer.phase
        consumer.phase = Phase.STALLED
        consumer.stalled_on = conn
        if instrument is not None:
            instrument.on_node_status_change(self, consumer.node, old, consumer.public_status())
            instrument.on_node_stalled(self, consumer.node, consumer.node.input(conn.port_index))
        parked = True
        if producer.phase is Phase.PAUSED and not producer.holders and not self._stopping:
            producer.demand = False  # inlined _resume_producer: the hot path of every stream
            if not producer.busy:
                producer.busy = True
                self._busy += 1
            task = producer.slot.task
            if task is not None and self.event_loop.can_step_inline() and _no_reader_starting(producer):
                # Run the producer's next step right here instead of parking and waiting for the
                # run queue: it publishes the next chunk (or parks on something else) and we read
                # on. Two task switches saved per chunk; the kernel bounds how often this happens.
                producer.slot.task = None
                self.event_loop.step_inline(task)
                parked = self._stopping  # a limit or an error ended the run: our code must not go on
            else:
                producer.slot.wake()
        else:
            self._want_more(producer)
        if parked:
            await park_trap(conn.park_command)
        consumer.stalled_on = None
        if consumer.phase is Phase.STALLED:
            consumer.phase = previous
            if instrument is not None:
                instrument.on_node_status_change(
                    self, consumer.node, NodeTaskStatus.Stalled(consumer.node.input(conn.port_index)), consumer.public_status()
                )

    def _gathered_final(self, conn: Connection) -> None:
        """A level-0 consumer read the producer's latest final value (the barrier counts down)."""
        conn.needs_final = False
        producer = conn.producer
        producer.level0_pending -= 1
        if producer.level0_pending <= 0:
            producer.level0_pending = 0
            if producer.phase is Phase.BARRIER:
                producer.slot.wake()

    # ------------------------------------------------------------------ errors and termination


def _no_reader_starting(producer: NodeState) -> bool:
    """No streaming consumer of ``producer`` is about to start (D2: it must read the current chunk
    before the producer makes the next one)."""
    for conn in producer.stream_outputs:
        if conn.consumer.phase is Phase.SCHEDULED:
            return False
    return True
