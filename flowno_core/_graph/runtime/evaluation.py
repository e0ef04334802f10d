"""One node's persistent task: gather inputs, call the node, publish what it produces.

Theory of operation: ``node_task`` loops forever: evaluate once, report the end of the evaluation
to the runtime, then park on the node's slot until the runtime starts it again. An evaluation
gathers the arguments (defaults and stitch for missing data, a ``Stream`` for ``stream_in`` ports,
D3 errors for what cannot be gathered), calls the node, and then either awaits the coroutine and
publishes its final value, or drives the async generator chunk by chunk: publish the chunk, pause
until the runtime resumes it (back-pressure, D2), throw ``StreamCancelled`` in when a consumer
cancelled, and publish the accumulated (or explicit) final value at the end (D6).

Errors raised by the node's own code go to ``Flow._node_failed``; errors while gathering end the
run. When the run is being torn down the task is cancelled where it waits; ``finally`` blocks
close the node's async generator so the user's clean-up runs (D13).
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from types import AsyncGeneratorType, CoroutineType
from typing import TYPE_CHECKING, Any

from ..._kernel.commands import Park
from ..._kernel.parking import reschedule
from ..._kernel.traps import park_trap, sleep_trap
from ...errors import MissingDefaultError, StreamCancelled, TaskCancelled
from ..rules.accumulate import Accumulator
from ..rules.generations import inc_generation
from ..description.ports import EMPTY
from .records import Chunk, NodeTaskStatus, Phase, keeps_going
from .streams import close_lap, make_stream, open_lap

if TYPE_CHECKING:
    from .flow import Flow
    from .records import NodeState

_NO_VALUE = object()
_NO_CONTEXT = nullcontext()


async def park_on(waitable: Any) -> Any:
    """Park the current task on ``waitable`` until it is rescheduled."""
    return await park_trap(Park(waitable))


async def node_task(flow: "Flow", state: "NodeState") -> None:
    """The persistent task of one node."""
    slot = state.slot
    while True:
        state.start_pending = False
        await evaluate(flow, state)
        if flow._stopping:
            await park_trap(slot.park_command)
            continue
        flow._evaluation_ended(state)
        if state.start_pending:
            await sleep_trap(0)  # started again at once (a self-loop): let the other tasks run first
        else:
            await park_trap(slot.park_command)


async def evaluate(flow: "Flow", state: "NodeState") -> None:
    """One evaluation of the node (SPEC §2.10)."""
    if flow._stopping:
        return
    state.phase = Phase.RUNNING
    state.evaluations += 1
    instrument = flow._instrument
    if instrument is not None:
        instrument.on_node_status_change(flow, state.node, _queued(), state.public_status())
    try:
        args = gather(flow, state)
    except Exception as error:  # noqa: BLE001 - D3: a gather error ends the run with a clear message
        flow._terminate(error)
        return
    is_generator = False
    try:
        if instrument is None:
            result = state.draft.call(*args)
            if result.__class__ is CoroutineType:  # the common case, without the general checks
                value = await result
                data = (value,) if state.draft._single_output else _as_final(state, value)
                if state.level0_pending:
                    await wait_for_level0_readers(flow, state, data)
                if not flow._stopping:
                    publish_final(flow, state, data)
                return
            is_generator = inspect.isasyncgen(result)
            await _run_result(flow, state, result)
        else:
            with instrument.node_lifecycle(flow, state.node, 0):
                result = state.draft.call(*args)
                is_generator = inspect.isasyncgen(result)
                await _run_result(flow, state, result)
    except TaskCancelled:
        if flow._stopping:
            raise
        flow._node_failed(state, _reraised_cancel(), inc_generation(state.data.gen, int(is_generator)))
    except Exception as error:  # noqa: BLE001 - node errors are the flow's to report (D4)
        if flow._stopping:
            return
        flow._node_failed(state, error, inc_generation(state.data.gen, int(is_generator)))


async def _run_result(flow: "Flow", state: "NodeState", result: Any) -> None:
    """Await a coroutine or drive an async generator, then publish the final value."""
    kind = type(result)
    if kind is CoroutineType or (kind is not AsyncGeneratorType and inspect.iscoroutine(result)):
        data = _as_final(state, await result)
        streamed = False
    elif inspect.isasyncgen(result):
        data = await drive_generator(flow, state, result)
        streamed = True
        if flow._stopping:
            return
    else:
        _close_if_awaitable(result)
        raise _not_async_error(state, result)
    if state.level0_pending or flow._instrument is not None:  # instruments see every write barrier
        await wait_for_level0_readers(flow, state, data)
    if not flow._stopping:
        publish_final(flow, state, data, streamed)


def _queued() -> Any:
    return NodeTaskStatus.Queued()


def _executing() -> Any:
    return NodeTaskStatus.Executing()


def _paused() -> Any:
    return NodeTaskStatus.WaitingForStartNextGeneration(1)


def _reraised_cancel() -> BaseException:
    return RuntimeError("a node's evaluation was cancelled (TaskCancelled escaped the node)")


def _close_if_awaitable(result: Any) -> None:
    close = getattr(result, "close", None)
    if inspect.isawaitable(result) and close is not None:
        close()


def _not_async_error(state: "NodeState", result: Any) -> TypeError:
    if state.draft._is_function_node:
        return TypeError("Unexpected return type (must be async function)")
    return TypeError(
        f"{state.node!r}.call() returned {type(result).__name__}, not a coroutine or an async generator; "
        "define call with `async def`"
    )


def _as_final(state: "NodeState", value: Any) -> tuple[Any, ...] | None:
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


def gather(flow: "Flow", state: "NodeState") -> list[Any]:
    """Collect the arguments of one evaluation (SPEC §2.10 step 2, D3)."""
    args: list[Any] = []
    defaulted = state.defaulted
    ports = state.ports
    instrument = flow._instrument
    for index, conn in enumerate(state.port_conns):
        if conn is None:
            default = ports[index].default_value
            if default is EMPTY:
                raise _missing(state, index)
            args.append(default)
            continue
        producer = conn.producer
        if conn.streaming:
            if producer.data.gen is None:
                args.append(_default_for(state, index, defaulted))
            else:
                stream = make_stream(flow, conn)
                state.streams.append(stream)
                args.append(stream)
            continue
        record = producer.data
        gen = record.gen
        data = record.final if gen is not None and len(gen) == 1 else record.get(0)
        if data is None:
            args.append(_default_for(state, index, defaulted))
            if conn.needs_final:
                flow._gathered_final(conn)  # "no data" was the value this consumer was owed
            continue
        try:
            args.append(data[conn.output_index])
        except (IndexError, TypeError):
            count = len(data) if isinstance(data, tuple) else "no tuple of"
            raise IndexError(
                f"{state.node!r}.input({index}) is connected to {producer.node!r}.output({conn.output_index}), "
                f"but {producer.node!r} produced {count} output(s) at generation {producer.data.gen}; "
                "connect an output index the producer has (outputs are numbered from 0)"
            ) from None
        if conn.needs_final:
            if instrument is None:
                flow._gathered_final(conn)
            else:
                with instrument.on_barrier_node_read(producer.node, 0):
                    flow._gathered_final(conn)
    if defaulted:
        for index in defaulted:
            ports[index].stitch_level_0 += 1
    if instrument is not None:
        instrument.on_defaulted_inputs_set(flow, state.node, list(defaulted))
    return args


def _default_for(state: "NodeState", index: int, defaulted: list[int]) -> Any:
    default = state.ports[index].default_value
    if default is EMPTY:
        raise _missing(state, index)
    defaulted.append(index)
    return default


def _missing(state: "NodeState", index: int) -> MissingDefaultError:
    error = MissingDefaultError(state.node, index)
    conn = state.port_conns[index]
    source = f"{conn.producer.node!r} has produced no value yet" if conn is not None else "it is not connected"
    error.add_note(
        f"{state.node!r}.input({index}) has no value: {source}. Give that parameter a default, "
        "or make sure its producer publishes a value (a streaming node with no chunks needs an explicit final value)"
    )
    return error


async def wait_for_level0_readers(flow: "Flow", state: "NodeState", data: tuple[Any, ...] | None) -> None:
    """The level-0 barrier: the previous final value must be gathered by every level-0 consumer
    that needs it before the next one replaces it (SPEC §3.4, D2)."""
    instrument = flow._instrument
    barrier = instrument.on_barrier_node_write(flow, state.node, data, 0) if instrument is not None else nullcontext()
    with barrier:
        state.phase = Phase.BARRIER
        while state.level0_pending > 0 and not flow._stopping:
            await park_trap(state.slot.park_command)
        state.phase = Phase.RUNNING


def publish_final(flow: "Flow", state: "NodeState", data: tuple[Any, ...] | None, streamed: bool = False) -> None:
    """Publish a final value (level 0): store it, then want every consumer."""
    if streamed and not state.lap_open:
        # a generator that yielded nothing still ends a (empty) lap: readers see an empty stream
        open_lap(state, inc_generation(state.data.gen, 0)[0])
    record = state.data
    gen = record.gen
    if gen is not None and len(gen) == 1:  # the common case of NodeData.push(data, 0), inlined
        record.gen = record.final_gen = (gen[0] + 1,)
        record.final = data
        record.chunk = None
    else:
        record.push(data, 0)
    if state.lap_open:
        close_lap(state)
    pending = 0
    for conn in state.outputs:
        if not conn.streaming and not conn.consumer.skipped:
            conn.needs_final = True
            pending += 1
    state.level0_pending = pending
    instrument = flow._instrument
    if instrument is not None:
        instrument.on_node_emitted_data(flow, state.node, data, 0)
    flow._published(state, 0)


async def publish_chunk(flow: "Flow", state: "NodeState", data: tuple[Any, ...]) -> None:
    """Publish one chunk (level 1), then pause until the runtime wants the next one (D2)."""
    record = state.data
    if state.lap_open:
        gen = record.gen
        record.gen = (gen[0], gen[1] + 1)  # type: ignore[index]
        record.chunk = data
    else:
        gen = record.gen
        if state.lap_aborted and gen is not None and len(gen) > 1:
            record.gen = gen[:1]  # a lap cut short by a stop: the next chunk opens a new lap
            state.missing_final = gen[0]  # ... and that lap's final value will never exist
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
                if conn.consumer.phase is Phase.PAUSED:  # a paused pass-through now holds us back
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
    if behind is not None:
        for reader in behind:
            flow._gate_opened(reader)  # it must read on so that we (and our other readers) can
    instrument = flow._instrument
    if instrument is not None:
        instrument.on_node_emitted_data(flow, state.node, data, 1)
    flow._published(state, 1)
    if flow._stopping:
        return
    if not state.outputs:
        await sleep_trap(0)  # D7: nobody to wait for; just let others run
        return
    if instrument is not None:
        instrument.on_node_pause(flow, state.node, 1)
        instrument.on_node_status_change(flow, state.node, _executing(), _paused())
    state.phase = Phase.PAUSED
    while True:
        if not state.holders and (state.demand or keeps_going(state)):
            state.demand = False
            await sleep_trap(0)  # readers made ready by this chunk run first
        else:
            if not state.demand and not keeps_going(state):
                flow._paused_without_demand(state)
            await park_trap(state.slot.park_command)
        if not state.holders or flow._stopping:
            break
        state.demand = True  # woken, but a reader fell behind meanwhile: wait until it catches up (D2)
    state.demand = False
    state.phase = Phase.RUNNING
    if instrument is not None:
        instrument.on_node_status_change(flow, state.node, _paused(), _executing())
        instrument.on_node_resumed(flow, state.node, 1)


async def drive_generator(flow: "Flow", state: "NodeState", agen: Any) -> tuple[Any, ...] | None:
    """Run one lap of a streaming node; returns its final value (explicit, accumulated, or None)."""
    draft = state.draft
    custom = draft._accumulate_fn
    if custom is None and type(draft).accumulate_streamed_data is not _default_accumulate():
        custom = draft.accumulate_streamed_data
    accumulator = Accumulator(repr(state.node), custom)
    add = accumulator.add
    single = draft._single_output
    explicit: Any = _NO_VALUE
    instrument = flow._instrument
    finished = False
    try:
        while True:
            try:
                if state.cancelled_streams:
                    stream = state.cancelled_streams[0]
                    state.cancelled_streams.clear()
                    try:
                        chunk = await agen.athrow(StreamCancelled(stream))
                    except StreamCancelled:
                        finished = True
                        await _cancel_own_streams(state)
                        break
                elif instrument is None:
                    chunk = await agen.__anext__()
                else:
                    with instrument.node_lifecycle(flow, state.node, 1):
                        chunk = await agen.__anext__()
            except StopAsyncIteration:
                finished = True
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
            await publish_chunk(flow, state, data)
            if flow._stopping:
                return None
    finally:
        if not finished:
            await _close_generator(agen)
    if explicit is not _NO_VALUE:
        if single:
            return (explicit,)
        if not isinstance(explicit, tuple):
            raise ValueError(
                f"{state.node!r} is a multiple_outputs node and raised StopAsyncIteration({explicit!r}); "
                "the explicit final value of a multi-output node must be a tuple with one value per output"
            )
        return explicit
    return accumulator.result()


def _default_accumulate() -> Any:
    from ..description.draft import DraftNode

    return DraftNode.accumulate_streamed_data


def _as_chunk(state: "NodeState", chunk: Any) -> tuple[Any, ...]:
    if not isinstance(chunk, tuple):
        raise TypeError(
            f"{state.node!r} is a multiple_outputs node but yielded {type(chunk).__name__} {chunk!r}; "
            "yield a tuple with one value per output"
        )
    return chunk


async def _cancel_own_streams(state: "NodeState") -> None:
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
