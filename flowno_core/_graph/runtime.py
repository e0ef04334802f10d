"""The Flow runtime: the one module that glues the pure graph layer to the kernel.

Theory of operation
-------------------
* Each node has one persistent kernel task (created the first time the node is started in a run)
  that loops: evaluate, then park on its ``NodeSlot`` until started again (``evaluation.py``).
* Demand drives everything. A node is *wanted* when it is put on the resolution queue: all nodes
  once when a run starts (in definition order), and every consumer after each chunk or final value
  its producer publishes. ``_resolve`` takes a wanted node: if none of its inputs is stale it starts
  it; otherwise the pure resolver (``resolver.solve``) finds the leaves of its stale upstream (one
  node per leaf component, cycles broken by defaults, D1) and starts those instead. Nodes the search
  passed through are marked ``pulled``: they wait for their upstream, and later searches stop at
  them, so each node is explored once per wave and a 100,000-node chain costs O(N) (D9).
* A node that is wanted while it is busy, by data its evaluation did not consume, is marked
  ``rewant`` and goes back on the queue when its evaluation ends, so every new generation of its
  inputs is seen exactly once.
* Streaming producers pause after every chunk; ``_want_more`` (a stalled reader, a level-0 consumer
  pulling the final value, a cancellation) resumes them once no active reader is still behind
  (``streams.py``, D2). A final value is not replaced before every level-0 consumer that needs it
  has gathered it (the level-0 barrier).
* The run ends when the queue is empty and no node is busy (quiescence), when a generation limit is
  reached, on an error, or on a deadlock: if the kernel stalls (nothing runnable, no timer, socket or
  thread) while nodes are still busy, the stall handler waits a short real-time grace for other
  threads and then raises DeadlockError naming what each node waits for (D3). Limits, errors and
  deadlocks stop the kernel at once; the kernel then cancels and closes every task (D13).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .._kernel.clock import MonotonicClock, VirtualClock
from .._kernel.loop import EventLoop
from .._kernel.traps import park_trap
from .._kernel.task import PENDING, Task
from ..errors import DeadlockError, MissingDefaultError, NodeExecutionError, TerminateLimitReached
from . import evaluation, gc_pause
from .context import CURRENT_FLOW
from .draft import DraftNode
from .finalized import FinalizedNode
from .generations import Generation, cmp_generation
from .instrumentation import FlowInstrument, active_flow_instrument
from .ports import EMPTY
from .resolver import UnbreakableCycle, find_unbreakable_cycle, solve, strongly_connected_components
from .state import Connection, NodeSlot, NodeState, NodeTaskStatus, Phase, keeps_going
from .streams import ValueStream, close_lap, finish_connection

DEADLOCK_GRACE_SECONDS = 0.25


class Flow:
    """A finalized dataflow graph and its runtime state. ``FlowHDL`` builds one for you.

    Example::

        with FlowHDL() as f:
            f.a = Add(1, 2)
        f._flow.run_until_complete()     # what f.run_until_complete() does
    """

    def __init__(self, is_finalized: bool = True, *, clock: MonotonicClock | VirtualClock | None = None) -> None:
        self.nodes: list[FinalizedNode] = []
        self._registered: set[int] = set()
        self.event_loop = EventLoop(clock=clock)
        self._states: list[NodeState] = []
        self._sweep_order: list[NodeState] = []
        self._built_nodes = 0
        self._checked_nodes = -1
        self._queue: deque[NodeState] = deque()
        self._busy = 0
        self._processing = False
        self._running = False
        self._stopping = False
        self._done = False
        self._done_slot = NodeSlot()
        self._instrument: FlowInstrument | None = None
        self._terminate_on_error = False
        self._errors: list[BaseException] = []
        self._context_factory: Callable[[FinalizedNode], Any] | None = None
        self._stall_mark = -1
        self._stall_since = 0.0
        self.deadlock_grace = DEADLOCK_GRACE_SECONDS
        self._frozen = False
        self._tasks_started = 0
        self._wave = 0

    # ------------------------------------------------------------------ building
    def add_node(self, node: FinalizedNode) -> None:
        """Register a finalized node (duplicates are ignored)."""
        if id(node) in self._registered:
            return
        self._registered.add(id(node))
        self.nodes.append(node)
        instrument = active_flow_instrument()
        if instrument is not None:
            instrument.on_node_registered(self, node)

    def add_nodes(self, nodes: Iterable[FinalizedNode]) -> None:
        for node in nodes:
            self.add_node(node)

    def _build(self) -> None:
        """(Re)create the runtime records when nodes were added since the last build."""
        if self._built_nodes == len(self.nodes):
            return
        old = {id(state.node): state for state in self._states}
        states: list[NodeState] = []
        for order, node in enumerate(self.nodes):
            state = old.get(id(node)) or NodeState(node, order)
            state.order = order
            state.ports, state.inputs, state.outputs, state.stream_outputs = [], [], [], []
            object.__setattr__(node, "_runtime", state)
            states.append(state)
        by_node = {id(state.node): state for state in states}
        pending: dict[tuple[int, int, int], deque[Connection]] = {}
        by_producer: dict[int, list[Connection]] = {}
        for state in states:
            port_conns: list[Connection | None] = []
            for index in sorted(state.node._input_ports):
                port = state.node._input_ports[index]
                state.ports.append(port)
                ref = port.connected_output
                producer = None if ref is None else by_node.get(id(ref.node))
                if ref is not None and producer is None:
                    raise ValueError(
                        f"{state.node!r}.input({index}) is connected to {ref.node!r}, which is not part of this flow"
                    )
                if producer is None or ref is None:
                    port_conns.append(None)
                    continue
                conn = Connection(state, port, producer, ref.port_index)
                port_conns.append(conn)
                state.inputs.append(conn)
                pending.setdefault((id(producer), ref.port_index, id(state)), deque()).append(conn)
                by_producer.setdefault(id(producer), []).append(conn)
            state.port_conns = port_conns
        for producer in states:
            ordered: list[Connection] = []
            connected = producer.node._connected_output_nodes
            for output_index in sorted(connected):
                for consumer in connected[output_index]:
                    queue = pending.get((id(producer), output_index, id(by_node.get(id(consumer)))))
                    if queue:
                        ordered.append(queue.popleft())
            if len(ordered) != len(by_producer.get(id(producer), ())):
                listed = set(map(id, ordered))  # connections the producer does not list (hand-built flows)
                ordered.extend(c for c in by_producer[id(producer)] if id(c) not in listed)
            producer.outputs = ordered
            producer.stream_outputs = [conn for conn in ordered if conn.streaming]
        self._states = states
        self._built_nodes = len(self.nodes)
        self._number_components()
        # Every run starts by wanting every node: producers' components before their consumers',
        # definition order within a component and between independent ones. So the first wave
        # never depends on the definition order beyond what D1 says (the cycle starter).
        self._sweep_order = sorted(states, key=lambda state: (state.scc, state.order))

    def _number_components(self) -> None:
        """Give every node the id of its strongly connected component in the static graph.

        The resolver must look through nodes of the head's own component (a cycle can only close
        there); outside it, it may stop at nodes already waiting for their upstream.
        """
        seen: set[NodeState] = set()
        number = 0
        for state in self._states:
            if state in seen:
                continue
            components = strongly_connected_components(
                state, lambda s: [(c.port_index, c.producer) for c in s.inputs], seen
            )
            for component in components:
                seen.update(component)
                for member in component:
                    member.scc = number
                number += 1

    # ------------------------------------------------------------------ static checks (D16)
    def check(self) -> list[Exception]:
        """Problems that would stop the flow, found without running it (D16).

        Returns a list of exceptions: a MissingDefaultError for a cycle no default can break, and an
        AttributeError for each input that is neither connected nor defaulted. Empty = fine.
        """
        self._build()
        problems: list[Exception] = []
        for state in self._states:
            for conn, port in zip(state.port_conns, state.ports):
                if conn is None and port.default_value is EMPTY:
                    problems.append(
                        AttributeError(f"{state.node!r}.input({port.port_index}) is not connected and has no default value")
                    )
        cycle = self._unbreakable_cycle()
        if cycle is not None:
            problems.append(MissingDefaultError({state.node: ports for state, ports in cycle.items()}))
        return problems

    def _unbreakable_cycle(self) -> dict[NodeState, list[int]] | None:
        states = self._states

        def edges(state: NodeState) -> list[tuple[int, NodeState]]:
            return [(conn.port_index, conn.producer) for conn in state.inputs]

        sizes: dict[int, int] = {}
        for state in states:
            sizes[state.scc] = sizes.get(state.scc, 0) + 1
        cyclic = {
            state
            for state in states
            if sizes[state.scc] > 1 or any(conn.producer is state for conn in state.inputs)
        }
        if not cyclic:
            return None
        members = [state for state in states if state in cyclic]
        return find_unbreakable_cycle(
            members,
            lambda s: [(p, q) for p, q in edges(s) if q in cyclic],
            lambda s, port: s.ports[port].default_value is not EMPTY,
            lambda s: s.order,
        )

    # ------------------------------------------------------------------ running
    def run_until_complete(
        self,
        stop_at_node_generation: Any = (),
        terminate_on_node_error: bool = False,
        _debug_max_wait_time: float | None = None,
        context_factory: Callable[[FinalizedNode], Any] | None = None,
    ) -> None:
        """Run until nothing is left to do, a generation limit is reached, or an error ends it.

        Args:
            stop_at_node_generation: ``()`` (never), one generation for every node, ``None`` (stop
                after the first evaluation), or a dict ``{node: generation}``.
            terminate_on_node_error: True ends the run at the first node error (the original
                exception is raised, with a note naming node and generation). False marks the node
                failed, skips its dependants, finishes the rest, then raises NodeExecutionError
                (or an ExceptionGroup of them).
            context_factory: ``(node) -> context`` for ``current_context()``.

        Raises:
            TerminateLimitReached, MissingDefaultError, DeadlockError, or a node's exception.
        """
        if self._running:
            raise RuntimeError("Flow.run_until_complete() is already running (it cannot be nested)")
        self._build()
        limits = self._normalize_limits(stop_at_node_generation)
        if self._checked_nodes != len(self.nodes):
            cycle = self._unbreakable_cycle()
            if cycle is not None:
                raise MissingDefaultError({state.node: ports for state, ports in cycle.items()})
            self._checked_nodes = len(self.nodes)
        self._prepare(limits, terminate_on_node_error, context_factory)
        frozen = self._frozen = gc_pause.begin(len(self._states))
        token = CURRENT_FLOW.set(self)
        loop = self.event_loop
        loop.add_stall_handler(self._on_stall)
        instrument = self._instrument
        if instrument is not None:
            instrument.on_flow_start(self)
        try:
            loop.run_until_complete(self._root(), join=True, _debug_max_wait_time=_debug_max_wait_time)
        finally:
            loop.remove_stall_handler(self._on_stall)
            CURRENT_FLOW.reset(token)
            gc_pause.end(frozen)
            self._after_run()
            if instrument is not None:
                instrument.on_flow_end(self)
        if self._errors:
            errors, self._errors = self._errors, []
            if len(errors) == 1:
                raise errors[0]
            raise ExceptionGroup(f"{len(errors)} nodes failed", errors)  # type: ignore[type-var]

    def _normalize_limits(self, limit: Any) -> dict[NodeState, Any]:
        if isinstance(limit, dict):
            by_node = {id(state.node): state for state in self._states}
            by_draft = {id(state.draft): state for state in self._states}
            limits: dict[NodeState, Any] = {}
            for key, value in limit.items():
                state = by_node.get(id(key)) or (by_draft.get(id(key)) if isinstance(key, DraftNode) else None)
                if state is None:
                    raise ValueError(
                        f"stop_at_node_generation names {key!r}, which is not a node of this flow; "
                        "use the finalized node (f.name after the FlowHDL block)"
                    )
                limits[state] = _check_generation(value, key)
            return limits
        generation = _check_generation(limit, "stop_at_node_generation")
        return {state: generation for state in self._states}

    def _prepare(self, limits: dict[NodeState, Any], terminate: bool, factory: Any) -> None:
        self._running = True
        self._stopping = False
        self._done = False
        self._busy = 0
        self._queue.clear()
        self._errors = []
        self._terminate_on_error = terminate
        self._context_factory = factory
        self._instrument = active_flow_instrument()
        self._stall_mark = -1
        for state in self._states:
            state.limit = limits.get(state, ())
            state.phase = Phase.IDLE
            state.busy = state.queued = state.pulled = False
            state.rewant = state.demand = state.skipped = False
            state.task = None
            state.slot.task = None
            state.streams = []
            state.defaulted = []
            state.stalled_on = None
            state.start_pending = False
        self._done_slot = NodeSlot()

    def _after_run(self) -> None:
        self._running = False
        self._stopping = True
        for state in self._states:
            if state.lap_open:  # a stream stopped mid-lap restarts as a new lap next run (D5)
                state.lap_open = False
                state.lap_aborted = True
            state.task = None
            state.phase = Phase.IDLE
            state.holders = 0
            for conn in state.stream_outputs:
                conn.waiter = None
                conn.holding = False

    async def _root(self) -> None:
        for state in self._sweep_order:
            self._enqueue(state)
        self._process()
        if not self._done and not self._stopping:
            await evaluation.park_on(self._done_slot)
        self._stopping = True
        loop = self.event_loop
        requests = []
        for state in self._states:
            task = state.task
            if task is None or task.status is not PENDING:
                continue
            if state.phase is Phase.IDLE and state.slot.task is task:
                loop.close_task(task)  # parked between evaluations: nothing to clean up
            else:
                requests.append(task.handle.cancel())  # mid-evaluation: let it clean up (aclose, finally)
        for request in requests:
            await request

    # ------------------------------------------------------------------ resolution
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
            state.task = self.event_loop.start_task(evaluation.node_task(self, state), state.node)
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
                finish_connection(self, conn)
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
    def _terminate(self, error: BaseException) -> None:
        """End the run now with ``error`` (limit, fatal node error, gather error, deadlock)."""
        if self._stopping:
            return
        self._stopping = True
        self.event_loop.stop(exception=error)

    def _node_failed(self, state: NodeState, error: BaseException, target: Generation) -> None:
        instrument = self._instrument
        if instrument is not None:
            instrument.on_node_error(self, state.node, error)
        note = f"raised by node {state.node!r} while computing generation {target}"
        if note not in getattr(error, "__notes__", ()):
            error.add_note(note)
        state.phase = Phase.FAILED
        if self._terminate_on_error:
            self._terminate(error)
            return
        wrapped = NodeExecutionError(state.node, f"node {state.node!r} failed at generation {target}: {error!r}")
        wrapped.__cause__ = error
        self._errors.append(wrapped)
        if state.lap_open:
            close_lap(state)
        self._skip_dependants(state)

    def _skip_dependants(self, failed: NodeState) -> None:
        self._release_inputs(failed)
        stack = [failed]
        while stack:
            current = stack.pop()
            for conn in current.outputs:
                consumer = conn.consumer
                if consumer.skipped or consumer is failed:
                    continue
                consumer.skipped = True
                self._release_inputs(consumer)
                stack.append(consumer)

    def _release_inputs(self, state: NodeState) -> None:
        for conn in state.inputs:
            if conn.needs_final:
                self._gathered_final(conn)
            if conn.streaming and conn.lap == conn.producer.lap:
                finish_connection(self, conn)

    def _on_stall(self) -> float | None:
        """Kernel stall handler: nothing can run. Busy nodes then mean a deadlock (after a grace)."""
        if not self._running or self._done or self._stopping:
            return None
        mark = self.event_loop.steps
        if mark != self._stall_mark:
            self._stall_mark = mark
            self._stall_since = time.monotonic()
            return self.deadlock_grace
        remaining = self.deadlock_grace - (time.monotonic() - self._stall_since)
        if remaining > 0:
            return remaining
        self._terminate(DeadlockError(self._describe_deadlock()))
        return None

    def _describe_deadlock(self) -> str:
        lines = ["the flow cannot make progress; these nodes are waiting:"]
        for state in self._states:
            if not (state.busy or state.queued):
                continue
            lines.append(f"  {state.node!r}: {self._describe_wait(state)}")
        lines.append(
            "hint: look for a cycle of nodes that each wait for the other's output, or a node awaiting "
            "something (an Event, a queue) that nothing will ever provide"
        )
        return "\n".join(lines)

    def _describe_wait(self, state: NodeState) -> str:
        phase = state.phase
        if phase is Phase.STALLED and state.stalled_on is not None:
            conn = state.stalled_on
            return f"waiting for a chunk from {conn.producer!r} on input {conn.port_index}"
        if phase is Phase.PAUSED:
            behind = [repr(c.consumer) for c in state.stream_outputs if c.holding]
            return f"paused at {state.data.gen}, waiting for {', '.join(behind) or 'a reader'} to read its last chunk"
        if phase is Phase.BARRIER:
            behind = [repr(c.consumer) for c in state.outputs if c.needs_final]
            return f"waiting for {', '.join(behind)} to read its previous value before publishing the next"
        task = state.task
        if task is not None:
            return f"running, waiting for {task.describe_wait()}"
        return f"{phase.value}"


def _no_reader_starting(producer: NodeState) -> bool:
    """No streaming consumer of ``producer`` is about to start (D2: it must read the current chunk
    before the producer makes the next one)."""
    for conn in producer.stream_outputs:
        if conn.consumer.phase is Phase.SCHEDULED:
            return False
    return True


def _check_generation(value: Any, where: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(part, int) and part >= 0 for part in value):
        return value
    raise TypeError(
        f"stop_at_node_generation: {value!r} (for {where!r}) is not a generation; "
        "use a tuple of non-negative ints such as (3,) or (2, 5), () for no limit, or None"
    )
