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

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..._kernel.clock import MonotonicClock, VirtualClock
from ..._kernel.loop import EventLoop
from ..._kernel.task import PENDING
from ...errors import MissingDefaultError
from . import evaluation, gc_pause
from .context import CURRENT_FLOW
from ..description.draft import DraftNode
from ..description.finalized import FinalizedNode
from .instruments import FlowInstrument, active_flow_instrument
from ..description.ports import EMPTY
from ..rules.resolver import find_unbreakable_cycle, strongly_connected_components
from .endings import Endings
from .scheduler import Scheduler
from .records import Connection, NodeSlot, NodeState, Phase

DEADLOCK_GRACE_SECONDS = 0.25


class Flow(Scheduler, Endings):
    """A finalized dataflow graph and its runtime state. ``FlowHDL`` builds one for you.

    Example::

        with FlowHDL() as f:
            f.a = Add(1, 2)
        f._flow.run_until_complete()     # what f.run_until_complete() does
    """

    _instance_counter = 0

    def __init__(self, is_finalized: bool = True, *, clock: MonotonicClock | VirtualClock | None = None) -> None:
        self._id = Flow._instance_counter
        Flow._instance_counter += 1
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

    def __repr__(self) -> str:
        return f"<Flow#{self._id}>"

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
def _check_generation(value: Any, where: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(part, int) and part >= 0 for part in value):
        return value
    raise TypeError(
        f"stop_at_node_generation: {value!r} (for {where!r}) is not a generation; "
        "use a tuple of non-negative ints such as (3,) or (2, 5), () for no limit, or None"
    )
