"""The Flow: a finalized graph, its runtime records, and ``run_until_complete``.

Theory of operation
-------------------
A Flow owns named parts: the ``Run`` (state its parts share, the node and run lifecycles), the
``Scheduler`` (resolution and demand), the ``Endings`` (node errors, deadlocks) and the
``Evaluator`` (the body of every node task), all on one kernel ``EventLoop``.

* Each node has one persistent kernel task (created the first time the node is started in a run)
  that loops: evaluate, then park until started again (``evaluation.py``).
* Demand drives everything (``scheduler.py``). A run that starts afresh (the first one, or after a
  run that completed) wants every node once, producers' components first; a run after a stop
  continues where the stop left off instead (``continuation.py``): the nodes that were scheduled
  or in the middle of an evaluation are restarted in the order they were scheduled, and nothing
  else is started, so stopping at a limit and running again to a higher one does exactly what one
  straight run to the higher limit does (D5).
* A run ends in exactly one way (``rules.lifecycle.RUN_TABLE``): completed, limit reached, failed,
  cancelled or deadlocked. Afterwards every node task is closed (D13) and every node is idle.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, Unpack

from ..._kernel.clock import MonotonicClock, VirtualClock
from ..._kernel.cancellation import ShutdownCancel
from ..._kernel.loop import EventLoop
from ..._kernel.task import PENDING
from ..._kernel.traps import park_trap
from ...errors import MissingDefaultError, TerminateLimitReached
from ..control.policy import ControlOptions, NodeOptions, checked_options
from ..control.report import DEFAULT_MAX_RECORDS, ReportRecorder, RunReport
from ..description.draft import Constant, DraftNode
from ..description.finalized import FinalizedNode
from ..rules.lifecycle import LapEvent, LapPhase, NodeEvent, NodePhase, RunPhase, apply
from . import debug_log, gc_pause
from .build import build_states, sweep_order, unbreakable_cycle, unconnected_inputs
from .endings import DEADLOCK_GRACE_SECONDS, Endings

from .evaluation import Evaluator
from .instruments import active_flow_instrument
from .records import NO_ARGS, NodeState, move_lap
from .continuation import Continuation
from .run import CURRENT_FLOW, Run
from .run_control import RunControl, check_timeout
from .scheduler import Scheduler

if TYPE_CHECKING:  # these load when a run needs them: importing flowno_core does not
    from ..control.checkpoint import Store
    from .checkpointing import Checkpointer
    from .watching import Watch

_FRESH_STARTS = (RunPhase.READY, RunPhase.COMPLETED)
IDLE = NodePhase.IDLE
_BETWEEN_EVALUATIONS = frozenset((NodePhase.IDLE, NodePhase.WAITING, NodePhase.SKIPPED, NodePhase.FAILED))


class Flow:
    """A finalized dataflow graph and its runtime state. ``FlowHDL`` builds one for you.

    Example::

        with FlowHDL() as f:
            f.a = Add(1, 2)
        f._flow.run_until_complete()     # what f.run_until_complete() does
    """

    _instance_counter = 0

    def __init__(
        self,
        is_finalized: bool = True,
        *,
        clock: MonotonicClock | VirtualClock | None = None,
        deadlock_grace: float | None = DEADLOCK_GRACE_SECONDS,
        **control: Unpack[ControlOptions],
    ) -> None:
        self._id = Flow._instance_counter
        Flow._instance_counter += 1
        self.nodes: list[FinalizedNode] = []
        self._registered: set[int] = set()
        self.event_loop = EventLoop(clock=clock)
        self._run = Run(self, self.event_loop)
        self._scheduler = Scheduler(self._run)
        self._endings = Endings(self._run, self._scheduler)
        self._control = RunControl(self._run, self._endings)
        self._evaluator = Evaluator(self._run, self._scheduler, self._endings, self._control)
        self._scheduler.node_task = self._evaluator.node_task
        self._states: list[NodeState] = []
        self._sweep_order: list[NodeState] = []
        self._built_nodes = 0
        self._checked_nodes = -1
        self._running = threading.Lock()  # one run at a time, from whichever thread
        self.deadlock_grace = deadlock_grace
        #: run-control defaults for the nodes (their own ``@node(...)`` options win)
        self.options: NodeOptions | None = checked_options(f"flow {self!r}", **control) or None
        #: the report of the latest run (also of one that raised), None before the first run
        self.last_report: RunReport | None = None
        self._cache: Store | None = None  # the node cache of runs without a checkpoint

    def __repr__(self) -> str:
        return f"<Flow#{self._id}>"

    @property
    def deadlock_grace(self) -> float | None:
        """Real seconds a stalled run waits, when a task waits on something another thread could
        still provide (an Event, a queue), before it reports a deadlock; None waits forever. Waits
        only the flow can end (nodes waiting on each other) are reported at once."""
        return self._endings.deadlock_grace

    @deadlock_grace.setter
    def deadlock_grace(self, seconds: float | None) -> None:
        if seconds is not None and not seconds >= 0:
            raise ValueError(f"deadlock_grace must be a number of seconds >= 0, or None to wait forever; got {seconds!r}")
        self._endings.deadlock_grace = seconds

    @property
    def _context_factory(self) -> Callable[[FinalizedNode], Any] | None:
        return self._run.context_factory

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
        self._states = self._run.states = build_states(self.nodes, self._states, self.options)
        self._sweep_order = sweep_order(self._states)
        self._built_nodes = len(self.nodes)

    def check(self) -> list[Exception]:
        """Problems that would stop the flow, found without running it.

        Returns a list of exceptions: an AttributeError for each input that is neither connected nor
        defaulted, and a MissingDefaultError for a cycle no default can break. Empty = fine.
        """
        self._build()
        problems: list[Exception] = list(unconnected_inputs(self._states))
        cycle = unbreakable_cycle(self._states)
        if cycle is not None:
            problems.append(MissingDefaultError({state.node: ports for state, ports in cycle.items()}))
        return problems

    # ------------------------------------------------------------------ running
    def run_until_complete(
        self,
        stop_at_node_generation: Any = (),
        terminate_on_node_error: bool = True,
        _debug_max_wait_time: float | None = None,
        context_factory: Callable[[FinalizedNode], Any] | None = None,
        *,
        timeout: float | None = None,
        report_max_records: int | None = DEFAULT_MAX_RECORDS,
        checkpoint: str | os.PathLike[str] | Store | None = None,
        progress: bool = False,
    ) -> RunReport:
        """Run until nothing is left to do, a generation limit is reached, or an error ends it.

        Running again continues from where the last run stopped.

        Args:
            stop_at_node_generation: ``()`` (never), one generation for every node, ``None`` (stop
                after the first evaluation), or a dict ``{node: generation}``.
            terminate_on_node_error: True (the default) ends the run at the first node error (the
                original exception is raised, with a note naming node and generation). False marks
                the node failed, skips its dependants, finishes the rest, then raises
                NodeExecutionError (or an ExceptionGroup of them).
            context_factory: ``(node) -> context`` for ``current_context()``.
            timeout: seconds of loop time the run may take; then it ends with FlowTimeoutError
                (the next run continues). ``cancel``, ``pause`` and ``resume`` control a run from
                another thread.
            report_max_records: how many evaluation records the report keeps (the latest; its
                summaries still count every evaluation); None keeps all.
            checkpoint: a file path (SQLite, created if missing) or a ``Store``: the values nodes
                publish are saved as the run goes; a flow that has not run yet in this process
                resumes from the values the checkpoint holds (see docs/checkpoints.md).
            progress: show evaluations, chunks per second and the generation reached on stderr
                while the run goes (``tooling.progress``; see docs/tracing.md).

        Returns:
            The run's ``RunReport``: every evaluation (node, generation, status, times, attempts,
            error), per-node summaries and totals. A run that raises keeps its report too, in
            ``flow.last_report``.

        Raises:
            TerminateLimitReached: a ``stop_at_node_generation`` limit was reached (the next run continues).
            MissingDefaultError: a cycle has no member whose in-cycle inputs all have defaults.
            DeadlockError: nothing can wake the loop while nodes or tasks still wait.
            Exception: a node's own exception, with a note naming the node and its generation.
            RuntimeError: the flow is already running (nested, or in another thread).
        """
        if not self._running.acquire(blocking=False):
            raise RuntimeError(
                f"{self!r} is already running (run_until_complete was called again while it runs, "
                "from a node or from another thread); wait for that run to return first"
            )
        try:
            with (
                _progress_display() if progress else nullcontext(),
                debug_log.DebugLog() if debug_log.wanted() else nullcontext(),
            ):
                return self._run_once(
                    stop_at_node_generation,
                    terminate_on_node_error,
                    _debug_max_wait_time,
                    context_factory,
                    check_timeout(timeout),
                    _check_max_records(report_max_records),
                    checkpoint,
                )
        finally:
            self._running.release()

    def watch(self, node: Any, *args: Any, **kwargs: Any) -> Watch:
        """Iterate what ``node`` publishes while the flow runs (``run_until_complete(*args,
        **kwargs)`` on a thread of its own): each chunk and final value as a ``Published``
        ``(generation, value, is_chunk)``, from ``for`` or ``async for`` (asyncio or flowno_core).
        The iteration ends with the run (and raises its error, a reached limit excepted); leaving
        it early cancels the flow. ``watch.report`` is the run's report afterwards.

        Example::

            for item in f.watch(f.tokens, stop_at_node_generation={f.tokens: (0,)}):
                print(item.value, end="", flush=True)      # tokens as they are produced
        """
        from .watching import Watch  # (imported on first use)

        self._build()
        state = getattr(node, "_runtime", None)
        if state is None or state not in self._states:
            raise ValueError(f"watch({node!r}): not a node of this flow; watch a node of it (f.name after the FlowHDL block)")
        return Watch(self, state, args, kwargs)

    async def run_async(self, *args: Any, **kwargs: Any) -> RunReport:
        """Run the flow from asyncio code without blocking its loop: the same arguments and result
        as ``run_until_complete``, which runs on a thread of its own meanwhile. Cancelling the
        awaiting asyncio task cancels the flow (its nodes' ``finally`` blocks run) before the
        cancellation goes on.

        Example::

            async def main():
                report = await f.run_async(stop_at_node_generation={f.count: (10,)})

            asyncio.run(main())
        """
        from .asyncio_run import run_async  # (imported on first use: flows rarely run from asyncio)

        return await run_async(self, *args, **kwargs)  # type: ignore[no-any-return]

    def cancel(self, reason: Any = None) -> bool:
        """End the run in progress (from any thread, or from a node): its node tasks are cancelled
        where they wait (``finally`` blocks run) and ``run_until_complete`` raises
        ``FlowCancelled(reason)``; the next run continues. False when no run is in progress."""
        return self._control.cancel(reason)

    def pause(self) -> bool:
        """Let no new evaluation begin until ``resume()`` (from any thread); evaluations already
        running finish. False when no run is in progress."""
        return self._control.pause()

    def resume(self) -> bool:
        """Let evaluations begin again after ``pause()``. False when no run is in progress."""
        return self._control.resume()

    def _run_once(
        self,
        limit: Any,
        terminate: bool,
        max_wait: float | None,
        factory: Any,
        timeout: float | None,
        max_records: int | None,
        checkpoint: Any,
    ) -> RunReport:
        self._build()
        limits = self._normalize_limits(limit)
        if self._checked_nodes != len(self.nodes):
            cycle = unbreakable_cycle(self._states)
            if cycle is not None:
                raise MissingDefaultError({state.node: ports for state, ports in cycle.items()})
            self._checked_nodes = len(self.nodes)
        run = self._run
        checkpointer = self._checkpointer(checkpoint)
        fresh = run.phase in _FRESH_STARTS
        if checkpointer is not None and run.phase is RunPhase.READY:
            try:
                want = checkpointer.restore()  # a checkpoint of an earlier process: continue its run
            except BaseException:
                checkpointer.close()
                raise
            if any(state.data.gen is not None for state in self._states):
                run.continuation, fresh = Continuation(want=want), False
        run.cache = self._cache_for(checkpointer)
        instrument = active_flow_instrument()
        run.start(instrument)
        run.terminate_on_error = terminate
        run.context_factory = factory
        for state in self._states:
            state.limit = limits.get(state, ())
        frozen = gc_pause.begin(len(self._states))
        self._scheduler.prepare(frozen)
        self._endings.prepare()
        token = CURRENT_FLOW.set(self)
        loop = self.event_loop
        loop.add_stall_handler(self._endings.on_stall)
        self._control.begin(timeout)
        run.recorder = recorder = ReportRecorder(
            loop.time(), time.time(), nodes=[state.node for state in self._states], max_records=max_records
        )
        run.trim_report()
        if instrument is not None:
            instrument.on_flow_start(self)
        ending: BaseException | None = None
        raised: BaseException | None = None
        try:
            loop.run_until_complete(self._root(fresh), join=True, _debug_max_wait_time=max_wait)
        except Exception as error:  # a limit, a deadlock...: the collected node errors come first
            if not run.errors:
                raised = error
                raise
            ending = error
        except BaseException as error:
            raised = error
            raise
        finally:
            self._control.finish()
            loop.remove_stall_handler(self._endings.on_stall)
            CURRENT_FLOW.reset(token)
            gc_pause.end(frozen)
            self._after_run()
            if checkpointer is not None:
                try:
                    checkpointer.close()
                except Exception as error:  # noqa: BLE001 - the last values could not be saved
                    raised = raised or error
            if run.errors:
                raised = _collected(run, ending)
            limit = run.phase is RunPhase.LIMIT_REACHED and type(raised) is TerminateLimitReached
            ending = None if limit else raised  # (a limit is how the run ends, not its error)
            self.last_report = recorder.finish(run.phase.name, loop.time(), ending)
            if instrument is not None:
                instrument.on_flow_end(self)
        if raised is not None:
            raise raised
        return self.last_report

    def _checkpointer(self, checkpoint: Any) -> Checkpointer | None:
        """The run's checkpointer over the store ``checkpoint`` names (None: no checkpoint)."""
        if checkpoint is None:
            return None
        from .checkpointing import Checkpointer, open_store

        store, owned = open_store(checkpoint)
        try:
            checkpointer = Checkpointer(self._run, self._states, store, owned)
        except BaseException:
            if owned:
                store.close()
            raise
        return checkpointer

    def _cache_for(self, checkpointer: Checkpointer | None) -> Store | None:
        """Where ``@node(cache=True)`` evaluations are kept: the checkpoint when there is one, else
        a store of the flow's own (made when a node first asks for caching)."""
        if not any(state.policy is not None and state.policy.cache for state in self._states):
            return None
        if checkpointer is not None:
            return checkpointer.store
        if self._cache is None:
            from .checkpointing import cache_store

            self._cache = cache_store()
        return self._cache

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
        # one limit for every node the user made: the hidden constants feeding plain arguments run
        # first and would otherwise end the run before any node of the user has a value
        return {state: generation for state in self._states if state.draft.__class__ is not Constant}

    async def _root(self, fresh: bool) -> None:
        scheduler = self._scheduler
        run = self._run
        try:
            if fresh:
                for state in self._sweep_order:
                    scheduler.enqueue(state)
            else:
                self._continue()
            scheduler.process()
            if not run.stopping:
                await park_trap(scheduler.done_slot.park_command)
        except ShutdownCancel:
            run.interrupted()  # the kernel ends the run by itself (Ctrl-C): keep what was going on
            raise
        await self._close_node_tasks()

    def _continue(self) -> None:
        """Pick up where the last run stopped: restart its nodes in the order they were scheduled."""
        run = self._run
        scheduler = self._scheduler
        continuation, run.continuation = run.continuation, Continuation()
        for state in continuation.restart:
            scheduler.start(state)
        for state in continuation.want:
            scheduler.enqueue(state)

    async def _close_node_tasks(self) -> None:
        """The run completed: close the parked node tasks, let the others clean up (D13)."""
        loop = self.event_loop
        requests = []
        for state in self._states:
            task = state.task
            if task is None or task.status is not PENDING:
                continue
            if state.slot.task is task and state.phase in _BETWEEN_EVALUATIONS:
                loop.close_task(task)  # parked between evaluations: nothing to clean up
            else:
                requests.append(task.handle.cancel())  # mid-evaluation: let it clean up (aclose, finally)
        for request in requests:
            await request

    def _after_run(self) -> None:
        """Every node leaves the run idle, its task gone; what was going on is in the continuation."""
        run = self._run
        for state in self._states:
            if state.task is None and state.phase is IDLE and not state.queued:
                continue  # it did not run in this run: nothing to tidy
            if state.lap_phase is LapPhase.OPEN and state.phase is not NodePhase.BARRIER:
                move_lap(state, LapEvent.CUT)  # a stream left mid-lap restarts as a new lap (D5)
                state.cut_inputs = [conn.consumed for conn in state.inputs]
            if state.phase is not IDLE:
                apply(state, NodeEvent.END_RUN, run)
            state.task = None
            state.slot.task = None
            state.queued = False
            state.holders = 0
            state.stalled_on = None
            if state.streams:
                state.streams = []
            state.args = NO_ARGS
            if state.defaulted:
                state.defaulted = []
            for conn in state.stream_outputs:
                conn.waiter = None
                conn.holding = False
        run.busy = 0


def _collected(run: Run, ending: BaseException | None) -> BaseException:
    """The node errors a run with ``terminate_on_node_error=False`` collected, as one exception
    (D4); how the run ended otherwise (a limit, a deadlock) is chained to it and noted."""
    errors, run.errors = run.errors, []
    error: BaseException = errors[0] if len(errors) == 1 else ExceptionGroup(f"{len(errors)} nodes failed", errors)  # type: ignore[type-var]
    if ending is not None:
        error.__context__ = ending
        error.add_note(f"the run also ended with {type(ending).__name__}: {ending}".rstrip(": "))
    return error


def _progress_display() -> Any:
    """The progress line of ``progress=True`` (imported on first use: a tool above the runtime)."""
    from ...tooling.progress import ProgressDisplay

    return ProgressDisplay()


def _check_max_records(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(
        f"report_max_records={value!r}: give how many evaluation records the run report keeps "
        "(an int >= 0), or None to keep every record"
    )


def _check_generation(value: Any, where: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple) and all(isinstance(part, int) and part >= 0 for part in value):
        return value
    raise TypeError(
        f"stop_at_node_generation: {value!r} (for {where!r}) is not a generation; "
        "use a tuple of non-negative ints such as (3,) or (2, 5), () for no limit, or None"
    )
