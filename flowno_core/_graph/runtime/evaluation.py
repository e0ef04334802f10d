"""One node's persistent task: gather inputs, call the node, publish what it produces.

Theory of operation: ``node_task`` loops: evaluate once, report the end of the evaluation to the
scheduler, then park on the node's slot until the scheduler starts it again. An evaluation gathers
the arguments (defaults for missing data, a ``Stream`` for ``stream_in`` ports, D3 errors for what
cannot be gathered), calls the node, and then either awaits the coroutine and publishes its final
value, or drives the async generator chunk by chunk: publish the chunk, pause until the scheduler
resumes it (back-pressure, D2), throw ``StreamCancelled`` in when a consumer cancelled, and publish
the accumulated (or explicit) final value at the end (D6). The feedback offset of a defaulted port
(``stitch_level_0``, SPEC §2.8) is added when the evaluation first publishes, so an evaluation cut
by a stop before it published leaves no trace.

An evaluation that continues a stopped run (``NodeState.resume``) replays the inputs it had
gathered, or publishes the value it had computed, instead (``continuation.py``).

Errors raised by the node's own code go to ``Endings.node_failed``; errors while gathering end the
run. When the run is torn down the task is cancelled where it waits; ``finally`` blocks close the
node's async generator so the user's clean-up runs (D13).
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from types import AsyncGeneratorType, CoroutineType
from typing import Any

from ..._kernel.cancellation import ShutdownCancel
from ..._kernel.parking import reschedule
from ..._kernel.traps import park_trap, sleep_trap
from ..._timeouts import fail_after
from ...errors import (
    MissingDefaultError,
    NodeTimeoutError,
    NotAsyncNodeError,
    SkipGeneration,
    StreamCancelled,
    TaskCancelled,
)
from ..description.draft import DraftNode
from ..description.naming import node_label, port_label
from ..description.ports import EMPTY
from ..rules.accumulate import Accumulator
from ..rules.generations import inc_generation
from ..rules.lifecycle import LapPhase, NodeEvent, NodePhase, Request, RunEvent, RunPhase, apply
from ..rules.markers import InputSkipped, Skipped, StreamSkipped
from . import controlled
from .endings import Endings, add_failure_notes
from .records import Chunk, NodeState, Resume, keeps_going
from .run import Run
from .run_control import RunControl
from .scheduler import Scheduler, limit_reached_error
from .streams import BETWEEN_CHUNKS, close_lap, make_stream, open_lap

_NO_VALUE = object()
OUT_OF_THE_RUN = frozenset((NodePhase.FAILED, NodePhase.SKIPPED))
# Enum members used on every evaluation, as module constants (an Enum attribute lookup costs about
# 65 ns on Python 3.11, a global 6 ns)
SKIP, MORE = Request.SKIP, Request.MORE
BEGIN, SCHEDULED, RUNNING = NodeEvent.BEGIN, NodePhase.SCHEDULED, RunPhase.RUNNING
HOLD, RESUME, PAUSE, RUNNING_NODE = NodeEvent.HOLD, NodeEvent.RESUME, NodeEvent.PAUSE, NodePhase.RUNNING
LAP_OPEN = LapPhase.OPEN
# how an evaluation ended, in the words of the run report (``control.report.EvaluationStatus``,
# a StrEnum: the report turns these back into members)
SUCCEEDED, FAILED, SKIPPED, CANCELLED, TIMED_OUT = "succeeded", "failed", "skipped", "cancelled", "timed_out"
_DEFAULT_ACCUMULATE = DraftNode.accumulate_streamed_data


class Evaluator:
    """Runs node evaluations for one flow (the body of every node task)."""

    def __init__(self, run: Run, scheduler: Scheduler, endings: Endings, control: RunControl) -> None:
        self.run = run
        self.scheduler = scheduler
        self.endings = endings
        self.control = control

    async def node_task(self, state: NodeState) -> None:
        """The persistent task of one node."""
        run = self.run
        slot = state.slot
        scheduler = self.scheduler
        while True:
            if scheduler.limit_reached is not None and state.phase is SCHEDULED:
                await park_trap(slot.park_command)  # the run is ending: it begins in the next run
                continue
            await self.evaluate(state)
            if run.stopping:
                await park_trap(slot.park_command)  # the run is over: wait to be closed
                continue
            scheduler.evaluation_ended(state)
            if scheduler.limit_reached is state:  # it reached its limit: drain, then end the run
                while True:
                    moves = run.moves
                    await sleep_trap(0)
                    if run.stopping or run.moves == moves:
                        break
                run.end(RunEvent.LIMIT, limit_reached_error(state))
                continue
            if state.phase is SCHEDULED:
                await sleep_trap(0)  # started again at once (a self-loop): let the other tasks run first
            else:
                await park_trap(slot.park_command)

    async def evaluate(self, state: NodeState) -> None:
        """One evaluation of the node (SPEC §2.10)."""
        run = self.run
        if run.held:  # the run is ending, or paused (flow.pause(): wait for resume() before beginning)
            if run.stopping:
                return
            await self.control.admit(state)
            if run.stopping:
                return
        resume = state.resume
        apply(state, BEGIN, run)
        now = run.now
        started = now()
        recorder = run.recorder
        if state.seq >= run.trim_at:  # (a long run: keep the report's memory bounded)
            run.trim_report()
        if resume is not None:
            state.resume = None
            if resume.publishes:
                await self._publish_resumed(state, resume)
                recorder.add(state.order, state.data.gen, SUCCEEDED, started, now(), 1, None)
                return
        instrument = run.instrument
        try:
            args = self.gather(state, resume)
        except InputSkipped as skipped:  # an input holds a marker: skip this generation too
            await self._skip(state, skipped.marker, started)
            return
        except Exception as error:  # noqa: BLE001 - D3: a gather error ends the run with a clear message
            recorder.add(state.order, inc_generation(state.data.gen, 0), FAILED, started, now(), 0, error)
            run.end(RunEvent.FAIL, error)
            return
        is_generator = False
        policy = state.policy
        try:
            if policy is not None:
                final_before = state.data.final_gen
                is_generator = state.draft._is_generator_node()
                await controlled.evaluate(self, state, args, policy)
            elif instrument is None:
                result = state.invoke(*args)
                if result.__class__ is CoroutineType:  # the common case, without the general checks
                    value = await result
                    data = (value,) if state.draft._single_output else _as_final(state, value)
                    if state.level0_pending:
                        await self.wait_for_level0_readers(state, data)
                    if run.phase is RUNNING:
                        self.publish_final(state, data)
                        final = state.data.gen[0]  # type: ignore[index]
                        recorder.columns.extend((state.order, final, started, now()))  # (what ``add`` records)
                    else:  # the run ended while it computed: its value is not published
                        recorder.add(state.order, inc_generation(state.data.gen, 0), CANCELLED, started, now(), 1, None)
                    return
                final_before = state.data.final_gen
                is_generator = inspect.isasyncgen(result)
                await self._run_result(state, result)
            else:
                final_before = state.data.final_gen
                with instrument.node_lifecycle(run.flow, state.node, 0):
                    result = state.invoke(*args)
                    is_generator = inspect.isasyncgen(result)
                    await self._run_result(state, result)
            published = state.data.final_gen is not final_before
            gen = state.data.gen if published else inc_generation(state.data.gen, int(is_generator))
            attempts = 1 if policy is None else state.attempts  # (0: served from the node cache)
            recorder.add(state.order, gen, SUCCEEDED if published else CANCELLED, started, now(), attempts, None)
        except TaskCancelled as cancel:
            target = inc_generation(state.data.gen, int(is_generator))
            if isinstance(cancel, ShutdownCancel):
                run.interrupted()  # the kernel ends the run by itself (Ctrl-C): keep what was going on
            if run.stopping:
                recorder.add(state.order, target, CANCELLED, started, now(), state.attempts or 1, None)
                raise
            escaped = _reraised_cancel()
            recorder.add(state.order, target, FAILED, started, now(), state.attempts or 1, escaped)
            self.endings.node_failed(state, escaped, target)
        except Exception as error:  # noqa: BLE001 - node errors are the flow's to report (D4)
            target = inc_generation(state.data.gen, int(is_generator))
            attempts = state.attempts or 1
            if run.stopping:
                recorder.add(state.order, target, CANCELLED, started, now(), attempts, error)
                return
            if isinstance(error, SkipGeneration):
                recorder.add(state.order, target, SKIPPED, started, now(), attempts, error)
                await controlled.skip_requested(self, state, error, target)
            elif policy is not None and policy.error_policy != "stop":
                status = TIMED_OUT if isinstance(error, NodeTimeoutError) else SKIPPED if policy.error_policy == "skip" else FAILED
                recorder.add(state.order, target, status, started, now(), attempts, error)
                await controlled.drop(self, state, error, target)
            else:
                recorder.add(state.order, target, TIMED_OUT if isinstance(error, NodeTimeoutError) else FAILED, started, now(), attempts, error)
                self.endings.node_failed(state, error, target)
        except StreamSkipped as skipped:  # a stream it read ended with a marker: skip this generation too
            await self._skip(state, skipped.marker, started)
        except BaseException as error:  # KeyboardInterrupt, SystemExit, ...: they end the run, named
            if not isinstance(error, GeneratorExit):
                target = inc_generation(state.data.gen, int(is_generator))
                add_failure_notes(error, state, target)
                recorder.add(state.order, target, CANCELLED, started, now(), state.attempts or 1, error)
            raise

    async def _skip(self, state: NodeState, marker: Skipped, started: float) -> None:
        """Do not run the node's code for this generation: pass the marker on (rules.markers), unless
        it came round a cycle to the node that started it, which stops it there."""
        if marker.origin is state.node:
            return
        run = self.run
        run.recorder.add(state.order, inc_generation(state.data.gen, 0), SKIPPED, started, run.now(), 0, None)
        if state.phase is not RUNNING_NODE:
            apply(state, NodeEvent.DROP, run)
        await controlled.publish_marker(self, state, marker)

    async def _run_result(self, state: NodeState, result: Any) -> None:
        """Await a coroutine or drive an async generator, then publish the final value."""
        run = self.run
        kind = type(result)
        if kind is CoroutineType or (kind is not AsyncGeneratorType and inspect.iscoroutine(result)):
            data = _as_final(state, await result)
            streamed = False
        elif inspect.isasyncgen(result):
            data = await self.drive_generator(state, result)
            streamed = True
            if run.stopping:
                return
        else:
            _close_if_awaitable(result)
            raise _not_async_error(state, result)
        if state.level0_pending or run.instrument is not None:  # instruments see every write barrier
            await self.wait_for_level0_readers(state, data)
        if not run.stopping:
            self.publish_final(state, data, streamed)

    async def _publish_resumed(self, state: NodeState, resume: Resume) -> None:
        """A stop cut this node at the barrier: publish the value it had computed."""
        state.defaulted = resume.defaulted
        data: Any = resume.final
        await self.wait_for_level0_readers(state, data)
        if not self.run.stopping:
            self.publish_final(state, data, resume.streamed)

    # ------------------------------------------------------------------ gathering (SPEC §2.10)
    def gather(self, state: NodeState, resume: Resume | None = None) -> list[Any]:
        """Collect the arguments of one evaluation (SPEC §2.10 step 2, D3)."""
        instrument = self.run.instrument
        if resume is not None and resume.args is not None:  # a replay: the inputs it had gathered
            args = state.args = resume.args
            state.defaulted = resume.defaulted
            if instrument is not None:
                instrument.on_defaulted_inputs_set(self.run.flow, state.node, list(state.defaulted))
            return args
        args = []
        defaulted = state.defaulted
        ports = state.ports
        scheduler = self.scheduler
        skipped: Any = None
        for index, conn in enumerate(state.port_conns):
            if conn is None:
                default = ports[index].default_value
                if default is EMPTY:
                    raise _missing(state, index)
                args.append(default)
                continue
            producer = conn.producer
            if conn.streaming:
                if producer.data.gen is None or (conn.stream_cycle and _ring_restarts_here(conn, ports[index])):
                    conn.consumed = None
                    args.append(_default_for(state, index, defaulted))
                else:
                    stream = make_stream(scheduler, conn)
                    conn.consumed = stream._lap
                    state.streams.append(stream)
                    args.append(stream)
                continue
            record = producer.data
            gen = record.gen
            data = record.final if gen is not None and len(gen) == 1 else record.get(0)
            if data is None:
                conn.consumed = None
                args.append(_default_for(state, index, defaulted))
                if conn.needs_final:
                    scheduler.gathered_final(conn)  # "no data" was the value this consumer was owed
                continue
            conn.consumed = record.final_gen
            try:
                args.append(data[conn.output_index])
            except (IndexError, TypeError):
                if data.__class__ is not Skipped:
                    count = len(data) if isinstance(data, tuple) else "no tuple of"
                    raise IndexError(
                        f"{port_label(state.node, index)} is connected to output {conn.output_index} of "
                        f"{node_label(producer.node)}, which produced {count} output(s) at generation {producer.data.gen}; "
                        "connect an output index the producer has (outputs are numbered from 0)"
                    ) from None
                if index in state.optional:
                    args.append(_default_for(state, index, defaulted))
                else:
                    skipped = data
                    args.append(None)
            if conn.needs_final:
                if instrument is None:
                    scheduler.gathered_final(conn)
                else:
                    with instrument.on_barrier_node_read(producer.node, 0):
                        scheduler.gathered_final(conn)
        state.args = args
        if instrument is not None:
            instrument.on_defaulted_inputs_set(self.run.flow, state.node, list(defaulted))
        if skipped is not None:
            raise InputSkipped(skipped)
        return args

    # ------------------------------------------------------------------ publishing
    async def wait_for_level0_readers(self, state: NodeState, data: tuple[Any, ...] | None) -> None:
        """The level-0 barrier: the previous final value must be gathered by every level-0 consumer
        that needs it before the next one replaces it (SPEC §3.4, D2)."""
        run = self.run
        instrument = run.instrument
        barrier = instrument.on_barrier_node_write(run.flow, state.node, data, 0) if instrument is not None else nullcontext()
        with barrier:
            if state.level0_pending > 0:
                state.final_at_barrier = data
                apply(state, NodeEvent.AWAIT_READERS, run)
                while state.level0_pending > 0:
                    await park_trap(state.slot.park_command)
                    if run.stopping:
                        return
                apply(state, NodeEvent.READERS_DONE, run)
                state.final_at_barrier = None

    def publish_final(self, state: NodeState, data: tuple[Any, ...] | None, streamed: bool = False) -> None:
        """Publish a final value (level 0): store it, then want every consumer."""
        if streamed and state.lap_phase is not LAP_OPEN:
            # a generator that yielded nothing still ends an (empty) lap: readers see an empty stream
            _leave_cut_lap(state)
            open_lap(state, inc_generation(state.data.gen, 0)[0])
        if state.defaulted:
            _stitch(state)
        record = state.data
        gen = record.gen
        if gen is not None and len(gen) == 1:  # the common case of NodeData.push(data, 0), inlined
            record.gen = record.final_gen = (gen[0] + 1,)
            record.final = data
            record.chunk = None
        else:
            record.push(data, 0)
        if state.lap_phase is LAP_OPEN:
            close_lap(state)
        pending = 0
        for conn in state.outputs:
            if not conn.streaming:
                consumer = conn.consumer
                if consumer.phase not in OUT_OF_THE_RUN and not consumer.pending & SKIP:  # (is_out, inlined)
                    conn.needs_final = True
                    pending += 1
        state.level0_pending = pending
        run = self.run
        if state.observers is not None:
            for observe in state.observers:
                observe(state, data, 0)
        instrument = run.instrument
        if instrument is not None:
            instrument.on_node_emitted_data(run.flow, state.node, data, 0)
        self.scheduler.published(state, 0)

    async def publish_chunk(self, state: NodeState, data: tuple[Any, ...]) -> None:
        """Publish one chunk (level 1), then pause until someone wants the next one (D2)."""
        run = self.run
        if self.scheduler.limit_reached is not None:  # a draining run publishes no new chunk:
            await park_trap(state.slot.park_command)  # the lap is cut here (and restarts next run)
        record = state.data
        if state.lap_phase is LapPhase.OPEN:
            gen = record.gen
            record.gen = (gen[0], gen[1] + 1)  # type: ignore[index]
            record.chunk = data
        else:
            _leave_cut_lap(state)
            if state.defaulted:
                _stitch(state)
            open_lap(state, record.push(data, 1)[0])  # type: ignore[index]
        # retain the chunk for live readers, count the active ones (the gate), wake the waiting ones
        index = state.chunk_index + 1
        state.chunk_index = index
        live = 0
        holders = 0
        behind: list[NodeState] | None = None
        for conn in reversed(state.stream_outputs):
            if not conn.finished:
                live += 1
                if conn.active:
                    holders += 1
                    conn.holding = True
                    if conn.consumer.phase in BETWEEN_CHUNKS:  # a paused pass-through now holds us back
                        behind = [conn.consumer] if behind is None else behind + [conn.consumer]
            waiter = conn.waiter
            if waiter is not None:
                conn.waiter = None
                reschedule(waiter, None, None, True)
        state.holders = holders
        if live:
            state.chunks.append(Chunk(data, live))
        else:
            state.chunk_base = index + 1
        scheduler = self.scheduler
        if behind is not None:
            for reader in behind:
                scheduler.gate_opened(reader)  # it must read on so that we (and our other readers) can
        if state.observers is not None:
            for observe in state.observers:
                observe(state, data, 1)
        instrument = run.instrument
        if instrument is not None:
            instrument.on_node_emitted_data(run.flow, state.node, data, 1)
        scheduler.published(state, 1)
        if run.stopping:
            return
        if not state.outputs:
            await sleep_trap(0)  # D7: nobody to wait for; just let others run
            return
        # Wait until it may produce its next chunk: someone wants it (or it must go on, see
        # ``keeps_going``) and no active reader is behind (D2). A producer to go on waits in HELD;
        # ``Scheduler.resume_producer`` or a stalled reader (who may run it inline) wakes it.
        if state.pending & MORE or keeps_going(state):
            state.pending &= ~MORE
            apply(state, HOLD, run)
            if not state.holders:
                await sleep_trap(0)  # the readers this chunk made ready run first
                if run.stopping:
                    return
                if not state.holders:
                    apply(state, RESUME, run)
                    return
        else:
            apply(state, PAUSE, run)
            if not run.busy:
                self.scheduler.process()  # it was the last busy node: possibly the end of the run
        while True:
            await park_trap(state.slot.park_command)
            if run.stopping or not state.holders:
                break
            if state.phase is RUNNING_NODE:
                apply(state, HOLD, run)
            # woken, but a reader fell behind meanwhile: wait (HELD) until it caught up (D2)
        if state.phase is not RUNNING_NODE and not run.stopping:  # (a reader running it inline resumed it)
            apply(state, RESUME, run)

    async def drive_generator(self, state: NodeState, agen: Any) -> tuple[Any, ...] | None:
        """Run one lap of a streaming node; returns its final value (explicit, accumulated, or None)."""
        run = self.run
        draft = state.draft
        custom = draft._accumulate_fn
        if custom is None and type(draft).accumulate_streamed_data is not _DEFAULT_ACCUMULATE:
            custom = draft.accumulate_streamed_data
        accumulator = Accumulator(repr(state.node), custom)
        add = accumulator.add
        single = draft._single_output
        explicit: Any = _NO_VALUE
        instrument = run.instrument
        chunk_limit = None if state.policy is None else state.policy.chunk_timeout
        finished = False
        try:
            while True:
                try:
                    if state.cancelled_streams:
                        stream = state.cancelled_streams[0]
                        state.cancelled_streams.clear()
                        chunk = await agen.athrow(StreamCancelled(stream))
                    elif chunk_limit is not None:
                        chunk = await _next_chunk_within(state, agen, chunk_limit)
                    elif instrument is None:
                        chunk = await agen.__anext__()
                    else:
                        with instrument.node_lifecycle(run.flow, state.node, 1):
                            chunk = await agen.__anext__()
                except StopAsyncIteration:
                    finished = True
                    break
                except StreamCancelled:  # it let a cancellation escape (at once, or after more chunks)
                    finished = True
                    await _cancel_own_streams(state)
                    break
                except RuntimeError as error:
                    cause = error.__cause__
                    if isinstance(cause, StopAsyncIteration):
                        finished = True
                        explicit = cause.args[0] if cause.args else None
                        break
                    raise
                data = (chunk,) if single else _as_chunk(state, chunk)
                add(data)
                await self.publish_chunk(state, data)
                if run.stopping:  # the run ended: wait for the cancellation, which closes the
                    await park_trap(state.slot.park_command)  # generator (its clean-up may await)
        finally:
            if not finished:
                await _close_generator(agen)
        if explicit is not _NO_VALUE:
            if single:
                return (explicit,)
            if not isinstance(explicit, tuple):
                not_a_tuple = ValueError(
                    f"{node_label(state.node)} is a multiple_outputs node and raised StopAsyncIteration({explicit!r}); "
                    "the explicit final value of a multi-output node must be a tuple with one value per output"
                )
                not_a_tuple.add_note(f"hint: raise StopAsyncIteration(({explicit!r}, ...)) with one value per output")
                raise not_a_tuple
            return explicit
        return accumulator.result()


async def _next_chunk_within(state: NodeState, agen: Any, limit: float) -> Any:
    """The generator's next chunk, or NodeTimeoutError after ``limit`` seconds (``chunk_timeout``)."""
    scope = fail_after(limit)
    try:
        with scope:
            return await agen.__anext__()
    except TimeoutError as error:
        if not scope.expired:
            raise
        raise controlled.chunk_timeout_error(state, limit) from error


def _ring_restarts_here(conn: Any, port: Any) -> bool:
    """A ring of streams whose laps a stop cut starts again from this port's default (as it first
    started): the producer's lap was cut, or this consumer's reading of it (continuation.py)."""
    if not port.has_default or not (conn.restart_from_default or conn.producer.lap_phase is LapPhase.CUT):
        return False
    conn.restart_from_default = False
    return True


def _leave_cut_lap(state: NodeState) -> None:
    """The node publishes again after a stop cut its lap k (generation (k, j)): the new lap is k+1,
    and lap k's final value never exists (SPEC §0.2). Keep every edge's offset (§2.8) in line with
    that jump: an input the new lap consumes again at the same generation counts one newer, and a
    consumer that completed no evaluation on lap k counts lap k+1 as the one after its last."""
    record = state.data
    gen = record.gen
    if state.lap_phase is not LapPhase.CUT or gen is None or len(gen) < 2:
        return
    cut = gen[0]
    record.gen = gen[:1]  # so that the next generation is (k+1, 0) or (k+1,)
    for conn, before in zip(state.inputs, state.cut_inputs or ()):
        if before is not None and conn.consumed == before:
            conn.port.stitch_level_0 += 1
    state.cut_inputs = None
    for conn in state.outputs:
        if not (conn.streaming and conn.read_lap == cut):
            conn.port.stitch_level_0 -= 1


def _stitch(state: NodeState) -> None:
    """The evaluation publishes for the first time: its defaulted ports' feedback offsets grow (§2.8)."""
    ports = state.ports
    for index in state.defaulted:
        ports[index].stitch_level_0 += 1
    state.defaulted = []


def _reraised_cancel() -> BaseException:
    return RuntimeError("a node's evaluation was cancelled (TaskCancelled escaped the node)")


def _close_if_awaitable(result: Any) -> None:
    close = getattr(result, "close", None)
    if inspect.isawaitable(result) and close is not None:
        close()


def _not_async_error(state: NodeState, result: Any) -> TypeError:
    draft = state.draft
    if draft._is_function_node:
        return TypeError("Unexpected return type (must be async function)")  # flowno's exact error
    flowno_text = (
        "User method must return an async def"
        if draft._is_stateful_node
        else "Node must be a coroutine (async def) or an AsyncGenerator (async def with yield)"
    )
    return NotAsyncNodeError(
        f"{flowno_text}: {state.node!r}.call() returned {type(result).__name__}; define call with `async def`"
    )


def _as_final(state: NodeState, value: Any) -> tuple[Any, ...] | None:
    if state.draft._single_output:
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    if value is None:
        return None  # SPEC §1.2: not checked; a stored None counts as "no data" (§2.3)
    if not isinstance(value, tuple):
        raise TypeError(
            f"{state.node!r} is a multiple_outputs node but returned {type(value).__name__} {value!r}; "
            "return a tuple with one value per output"
        )
    return value


def _as_chunk(state: NodeState, chunk: Any) -> tuple[Any, ...]:
    if not isinstance(chunk, tuple):
        raise TypeError(
            f"{node_label(state.node)} is a multiple_outputs node but yielded {type(chunk).__name__} {chunk!r}; "
            "yield a tuple with one value per output"
        )
    return chunk


def _default_for(state: NodeState, index: int, defaulted: list[int]) -> Any:
    default = state.ports[index].default_value
    if default is EMPTY:
        raise _missing(state, index)
    defaulted.append(index)
    return default


def _missing(state: NodeState, index: int) -> MissingDefaultError:
    error = MissingDefaultError(state.node, index)
    conn = state.port_conns[index]
    source = f"{node_label(conn.producer.node)} has produced no value yet" if conn is not None else "it is not connected"
    error.add_note(
        f"{port_label(state.node, index)} has no value: {source}. Give that parameter a default, "
        "or make sure its producer publishes a value (a streaming node with no chunks needs an explicit final value)"
    )
    return error


async def _cancel_own_streams(state: NodeState) -> None:
    """A StreamCancelled escaped this pass-through node: cancel its own streaming inputs."""
    for stream in list(state.streams):
        cancel = getattr(stream, "cancel", None)
        if cancel is not None:
            await cancel()


async def _close_generator(agen: Any) -> None:
    try:
        await agen.aclose()
    except (StopAsyncIteration, GeneratorExit):
        pass
    except RuntimeError:
        pass  # "async generator ignored GeneratorExit": the user's clean-up misbehaved; nothing to do
