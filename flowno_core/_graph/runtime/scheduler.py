"""Scheduling: the resolution queue, starting nodes, and the demand that drives streams.

Theory of operation: a node is *wanted* when it is put on the resolution queue (every node when a
run starts afresh, every consumer after each chunk or final value its producer publishes).
``resolve`` starts a wanted node whose inputs are all fresh, and otherwise asks the pure resolver
(``rules.resolver.solve``) which upstream nodes to start; nodes the search passed through move to
WAITING and later searches stop at them, except inside the head's own strongly connected
component, where a cycle can close, unless they were explored in the same *wave* (one draining of
the queue, during which no node runs). So each node is explored once per wave and a 100,000-node
chain costs O(N) (D9). A node wanted while busy by data its evaluation did not consume takes that
want when the evaluation ends (``Request.WANT``).

Streaming producers pause after every chunk; ``want_more`` (a stalled reader, a level-0 consumer
pulling the final value, a cancellation) and ``gate_opened`` (the last reader behind caught up)
resume them, never more than one chunk ahead of an active reader (D2, ``streams.py``). A stalled
reader may run its producer's next step inline instead of waiting for the run queue.

The run completes when the queue is empty and no node is busy. A chunk that reaches its node's
generation limit ends the run at once. A final value that reaches it *drains* the run first:
nothing new begins (a node started now begins in the next run, a stream publishes no new chunk),
but what is under way and can finish with the data already published finishes: a reader reading
to the end of a lap, a generator ending its lap, a value waiting at its barrier. Then the run ends
and what is left is recorded in the continuation. So a stop at a final value falls on a point a
longer run passes through, and the next run continues from exactly there.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from ..._kernel.current import current_task_object
from ..._kernel.traps import park_trap
from ...errors import MissingDefaultError, TerminateLimitReached
from ..description.ports import EMPTY
from ..rules.generations import cmp_generation
from ..rules.lifecycle import LapPhase, NodeEvent, NodePhase, Request, RunEvent, RunPhase, apply, defer, take
from ..rules.resolver import UnbreakableCycle, solve
from ..rules.staleness import is_stale
from . import gc_pause
from .instruments import FlowInstrument
from .records import HIGH, NO_ARGS, Connection, NodeSlot, NodeState, keeps_going
from .run import Run
from .streams import BETWEEN_CHUNKS, ValueStream, finish_connection

# Enum members used on hot paths, as module constants (an Enum attribute lookup costs about 65 ns
# on Python 3.11, a global 6 ns)
IDLE, WAITING, SCHEDULED, FAILED = NodePhase.IDLE, NodePhase.WAITING, NodePhase.SCHEDULED, NodePhase.FAILED
PAUSED, STALLED, BARRIER, SKIPPED = NodePhase.PAUSED, NodePhase.STALLED, NodePhase.BARRIER, NodePhase.SKIPPED
START, FINISH, HOLD, RESUME = NodeEvent.START, NodeEvent.FINISH, NodeEvent.HOLD, NodeEvent.RESUME
STALL, UNSTALL = NodeEvent.STALL, NodeEvent.UNSTALL
RUNNING = RunPhase.RUNNING
WANT, MORE = Request.WANT, Request.MORE
NEVER_STREAMED = LapPhase.NONE


def _is_high(task: Any) -> bool:
    """A ready task that runs a node of priority "high" (the kernel's Task.owner is the node)."""
    runtime = getattr(task.owner, "_runtime", None)
    return runtime is not None and runtime.rank == HIGH


class Scheduler:
    """Resolution and demand for one flow (see the module docstring)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.loop = run.loop
        self.queue = run.queue
        self.processing = False
        self.wave = 0
        self.done_slot = NodeSlot()  # the root task waits here for the end of the run
        self.limit_reached: NodeState | None = None
        self.node_task: Callable[[NodeState], Coroutine[Any, Any, None]] | None = None
        self.gc_frozen = False
        self.tasks_started = 0

    @property
    def instrument(self) -> FlowInstrument | None:
        return self.run.instrument

    def prepare(self, gc_frozen: bool) -> None:
        self.queue.clear()
        self.processing = False
        self.limit_reached = None
        self.done_slot = NodeSlot()
        self.gc_frozen = gc_frozen

    # ------------------------------------------------------------------ the resolution queue
    def enqueue(self, state: NodeState) -> None:
        instrument = self.run.instrument
        if instrument is not None:
            instrument.on_resolution_queue_put(self.run.flow, state.node)
        if not state.queued:
            state.queued = True
            self.queue.append(state)

    def process(self) -> None:
        """Resolve queued nodes until the queue is empty; then check whether the run is over."""
        run = self.run
        if self.processing or run.phase is not RUNNING:
            return
        self.processing = True
        self.wave += 1  # within one wave no node runs, so what a search found stays true
        queue = self.queue
        instrument = run.instrument
        try:
            while queue:
                state = queue.popleft()
                state.queued = False
                if instrument is not None:
                    instrument.on_resolution_queue_get(run.flow, state.node)
                self.resolve(state)
                if run.phase is not RUNNING:
                    return
        finally:
            self.processing = False
        if not run.busy and not queue and self.limit_reached is None:
            run.end(RunEvent.FAIL if run.errors else RunEvent.QUIESCENT, stop_kernel=False)
            self.done_slot.wake()

    def resolve(self, head: NodeState) -> None:
        phase = head.phase
        if phase in BETWEEN_CHUNKS:
            if self.ready(head):
                self.want_more(head)
            return
        if phase is not IDLE and phase is not WAITING:
            return
        run = self.run
        wave = self.wave
        explore = False
        stale = False
        for conn in head.inputs:
            if conn.is_stale():
                stale = True
                producer = conn.producer
                if (producer.scc == head.scc and producer.wave != wave) or (
                    producer.phase is not SCHEDULED and producer.phase is not WAITING
                ):
                    explore = True
                    break
        instrument = run.instrument
        if not stale:
            if instrument is not None:
                instrument.on_solving_nodes(run.flow, head.node, [head.node])
                instrument.on_node_visited(run.flow, head.node)
            self.start(head)
            return
        if not explore:  # every stale producer is already scheduled or waiting for its own upstream
            if instrument is not None:
                instrument.on_solving_nodes(run.flow, head.node, [])
            self._wait(head, wave)
            return
        try:
            solution = solve(
                head,
                self.stale_edges,
                lambda state: state is head
                or state.phase is IDLE
                or (state.phase is WAITING and state.scc == head.scc and state.wave != wave),
                lambda state, port: state.ports[port].default_value is not EMPTY,
                lambda state: state.order,
            )
        except UnbreakableCycle as cycle:
            members = {state.node: ports for state, ports in cycle.members.items()}
            run.end(RunEvent.FAIL, MissingDefaultError(members))
            return
        if instrument is not None:
            instrument.on_solving_nodes(run.flow, head.node, [state.node for state in solution.chosen])
        for state in solution.waiting:
            if state.phase is IDLE or state.phase is WAITING:
                self._wait(state, wave)
        for state in solution.chosen:
            if instrument is not None:
                instrument.on_node_visited(run.flow, state.node)
            phase = state.phase
            if phase is IDLE or phase is WAITING:
                if state is not head and phase is WAITING and (state.scc != head.scc or state.wave == wave):
                    continue  # not looked into: it waits for its own upstream
                self.start(state)
            elif phase is not SCHEDULED and phase is not FAILED and phase is not SKIPPED:
                self.want_more(state)  # a producer mid-lap (paused, or still publishing): ask for more

    def _wait(self, state: NodeState, wave: int) -> None:
        apply(state, NodeEvent.WAIT, self.run)
        state.wave = wave

    @staticmethod
    def stale_edges(state: NodeState) -> list[tuple[int, NodeState]]:
        return [(conn.port_index, conn.producer) for conn in state.inputs if conn.is_stale()]

    @staticmethod
    def ready(state: NodeState) -> bool:
        """No input is stale (``Connection.is_stale``, with the rule called directly: every start
        of a node passes here)."""
        gen = state.data.gen
        for conn in state.inputs:
            if is_stale(conn.producer.data.gen, gen, conn.minimum_run_level, conn.port.stitch_level_0):
                return False
        return True

    def start(self, state: NodeState) -> None:
        run = self.run
        if run.phase is not RUNNING:
            return
        apply(state, START, run)
        run.seq = state.seq = run.seq + 1  # (Run.stamp, inlined: every start passes here)
        if self.limit_reached is not None:
            return  # the run is ending: it begins in the next run (see ``published``)
        if state.rank:
            self._start_ranked(state, state.rank)
        elif state.task is None:
            self.begin(state)
        else:
            state.slot.wake()  # (if it is still finishing an evaluation, it begins the next one after)

    def _start_ranked(self, state: NodeState, rank: int) -> None:
        if rank == HIGH:  # ahead of the other runnable nodes, behind the high ones before it
            self.begin(state)
            if state.task is not None:
                self.loop.run_early(state.task, _is_high)
        else:  # low: once the nodes runnable now have stepped
            self.loop.call_later(0.0, self._begin_low, state)

    def begin(self, state: NodeState) -> None:
        """Let a started node's task begin its evaluation (a new task, or its parked one woken)."""
        if state.task is None:
            assert self.node_task is not None
            state.task = self.loop.start_task(self.node_task(state), state.node)
            self.tasks_started += 1
            if self.gc_frozen and not self.tasks_started % gc_pause.REFREEZE_EVERY:
                gc_pause.refreeze()
        else:
            state.slot.wake()  # (if it is still finishing an evaluation, it begins the next one after)

    def _begin_low(self, state: NodeState) -> None:
        if self.run.phase is RUNNING and self.limit_reached is None and state.phase is SCHEDULED:
            self.begin(state)

    # ------------------------------------------------------------------ events from node tasks
    def published(self, state: NodeState, run_level: int) -> None:
        """After a chunk or a final value: check the limit, then want every consumer."""
        run = self.run
        limit = state.limit
        if limit != ():
            gen: Any = state.data.gen
            if limit is None or (  # (None: stop after any generation)
                gen >= limit if len(gen) == len(limit) else cmp_generation(gen, limit) >= 0
            ):  # (same lengths, the common case: tuple order is generation order)
                instrument = run.instrument
                if instrument is not None:
                    instrument.on_node_generation_limit(run.flow, state.node, limit)
                if run_level:
                    run.end(RunEvent.LIMIT, limit_reached_error(state))  # mid-lap: stop at once
                    return
                if self.limit_reached is None:
                    self.limit_reached = state  # ends the run once the tasks it made runnable took their step
        lap = state.lap
        watched = run.instrument is not None
        wanted: list[NodeState] = []
        streamed = state.lap_phase is not NEVER_STREAMED
        for conn in state.outputs:
            if conn.cancelled:
                continue
            consumer = conn.consumer
            if conn.streaming and conn.consumed_lap == lap and streamed:
                continue  # it already has (or had) this lap's Stream: nothing new for it
            phase = consumer.phase
            if phase is not SCHEDULED and (phase.busy or phase is PAUSED):
                # mid-evaluation with its inputs already gathered: unless this is the lap its
                # Stream is reading, the evaluation did not consume it, so run it again afterwards
                if not (conn.streaming and conn.bound_lap == lap):
                    consumer.pending |= WANT  # (defer, inlined: the hot path of every publication)
            if consumer.phase.busy and not watched:
                continue  # resolving a busy node does nothing
            wanted.append(consumer)
        if not wanted:
            return
        if not watched and not self.queue and not self.processing:
            # The common case, without the queue: when every wanted consumer can simply start,
            # starting them in order is exactly what resolving the queue would do.
            for consumer in wanted:
                phase = consumer.phase
                if (phase is not IDLE and phase is not WAITING) or not self.ready(consumer):
                    break
            else:
                for consumer in wanted:
                    phase = consumer.phase
                    if phase is IDLE or phase is WAITING:
                        self.start(consumer)
                return
        for consumer in wanted:
            self.enqueue(consumer)
        self.process()

    def evaluation_ended(self, state: NodeState) -> None:
        run = self.run
        if state.streams:
            for stream in state.streams:
                conn = stream._conn
                conn.bound_lap = -1
                conn.read_lap = stream._lap
                if stream._lap == conn.lap and not isinstance(stream, ValueStream):
                    finish_connection(self, conn)
            state.streams = []
        apply(state, FINISH, run)
        if state.phase is not FAILED:  # a failed evaluation keeps its inputs: the next run retries it
            state.args = NO_ARGS
            if state.defaulted:
                state.defaulted = []
        if state.pending:
            if take(state, Request.SKIP):
                apply(state, NodeEvent.SKIP, run)
            if take(state, Request.WANT) and state.phase is IDLE:
                self.enqueue(state)
        if self.queue or not run.busy:
            self.process()  # resolve what is queued, or notice the end of the run
        if state.phase is SCHEDULED:
            run.stamp(state)  # started again while finishing (a self-loop): it goes on after the others

    def want_more(self, producer: NodeState) -> None:
        """Someone wants the producer's next chunk (or the rest of its lap)."""
        phase = producer.phase
        if phase is PAUSED:
            if producer.holders == 0:
                self.resume_producer(producer)
            else:
                apply(producer, HOLD, self.run)  # a reader is behind: go on once it caught up
        elif phase is IDLE or phase is WAITING:
            self.enqueue(producer)
            self.process()
        elif phase is not NodePhase.HELD:
            defer(producer, Request.MORE)

    def gate_opened(self, producer: NodeState) -> None:
        """A paused producer's readers caught up, or left, or it started holding its own producer
        back: resume it if it should go on (someone wants more, or it must go on)."""
        phase = producer.phase
        if phase in BETWEEN_CHUNKS and not producer.holders and (phase is NodePhase.HELD or keeps_going(producer)):
            self.resume_producer(producer)

    def resume_producer(self, producer: NodeState) -> None:
        """Let a producer between chunks make its next one: it waits (HELD, busy) for its task to run."""
        run = self.run
        if run.phase is not RUNNING:
            return
        producer.pending &= ~MORE  # (take, inlined) this is the "more" it was asked for
        if producer.phase is PAUSED:
            apply(producer, HOLD, run)
        run.seq = producer.seq = run.seq + 1  # (Run.stamp, inlined)
        producer.slot.wake()

    def step_producer(self, conn: Connection) -> bool:
        """The consumer's stream has nothing new: if the producer's next step can run right here,
        run it (instead of parking and waiting for the run queue: two task switches saved per
        chunk; the kernel bounds how often this happens). True when it ran and the run goes on, so
        the consumer reads on; otherwise the consumer ``stall``s."""
        producer = conn.producer
        run = self.run
        if producer.phase not in BETWEEN_CHUNKS or producer.holders or run.phase is not RUNNING:
            return False
        task = producer.slot.task
        if task is None or not self.loop.can_step_inline() or not _no_reader_starting(producer):
            return False
        # The consumer waits for no one, so it stays RUNNING; an instrument still sees the stall
        # flowno reported (STALLED makes no other difference during the step).
        consumer = conn.consumer
        watched = run.observer is not None and _reads_in_own_task(consumer)
        if watched:
            consumer.stalled_on = conn
            apply(consumer, STALL, run)
        producer.pending &= ~MORE
        apply(producer, RESUME, run)  # it runs at once: no need to wait in HELD
        run.seq = producer.seq = run.seq + 1
        producer.slot.task = None
        self.loop.step_inline(task)
        if watched:
            apply(consumer, UNSTALL, run)
            consumer.stalled_on = None
        return run.phase is RUNNING  # (a limit or an error may have ended the run meanwhile)

    async def stall(self, conn: Connection) -> None:
        """The consumer's stream has nothing new and ``step_producer`` could not help: get the
        producer going, and wait (STALLED) for its next chunk."""
        consumer = conn.consumer
        producer = conn.producer
        run = self.run
        if run.phase is not RUNNING:  # the run ended: our code must not go on (the end cancels us)
            await park_trap(conn.park_command)
        if producer.phase in BETWEEN_CHUNKS and not producer.holders:
            self.resume_producer(producer)  # (if it is not parked, it is letting its readers run first)
        else:
            self.want_more(producer)
        own = _reads_in_own_task(consumer)
        if own:
            consumer.stalled_on = conn
            apply(consumer, STALL, run)
        try:
            await park_trap(conn.park_command)
        finally:  # also when the wait is cancelled (a timeout around the read, a cancelled helper task)
            if own:
                if consumer.phase is STALLED:
                    apply(consumer, UNSTALL, run)
                consumer.stalled_on = None

    def gathered_final(self, conn: Connection) -> None:
        """A level-0 consumer read the producer's latest final value (the barrier counts down)."""
        conn.needs_final = False
        producer = conn.producer
        producer.level0_pending -= 1
        if producer.level0_pending <= 0:
            producer.level0_pending = 0
            if producer.phase is BARRIER and producer.slot.wake():
                self.run.stamp(producer)


def limit_reached_error(state: NodeState) -> TerminateLimitReached:
    """What ends a run whose node ``state`` reached its ``stop_at_node_generation`` limit."""
    error = TerminateLimitReached()
    error.node, error.generation, error.limit = state.node, state.data.gen, state.limit
    return error


def _reads_in_own_task(consumer: NodeState) -> bool:
    """The node's evaluation itself reads (not a helper task it spawned, which may read while the
    evaluation does something else, such as publishing a chunk): only then is the node STALLED."""
    return consumer.phase is NodePhase.RUNNING and current_task_object() is consumer.task


def _no_reader_starting(producer: NodeState) -> bool:
    """No streaming consumer of ``producer`` is about to start (D2: it must read the current chunk
    before the producer makes the next one)."""
    for conn in producer.stream_outputs:
        if conn.consumer.phase is SCHEDULED:
            return False
    return True
