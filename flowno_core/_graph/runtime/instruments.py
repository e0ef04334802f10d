"""Flow instrumentation hooks (flowno-compatible names and signatures, SPEC §1.10).

Theory of operation: ``with MyInstrument():`` makes it *the* active flow instrument (a ContextVar
holding one instrument; nesting replaces the outer one, which comes back on exit). An instrument
whose class sets ``joins_active`` (the tools of ``flowno_core.tooling``: tracing, progress...) is
added to the active one instead, as an ``InstrumentGroup``, so ``--trace`` and ``--progress`` see
the same run. The runtime reads the active instrument once when a run starts and only calls hooks
when there is one, so unused instrumentation costs one ``is not None`` test per event. Unlike
flowno, termination never depends on an instrument: instruments only observe.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar

from typing import Self

logger = logging.getLogger(__name__)

_CURRENT: contextvars.ContextVar["FlowInstrument | None"] = contextvars.ContextVar(
    "flowno_core.flow_instrument", default=None
)


class FlowInstrument:
    """Base class of flow instruments: override the hooks you need (all do nothing by default).

    Example::

        class Trace(FlowInstrument):
            def __init__(self):
                self.events = []
            def on_node_emitted_data(self, flow, node, data, run_level):
                self.events.append((repr(node), data, run_level))

        with Trace() as trace:
            f.run_until_complete()
    """

    #: True: ``with`` adds this instrument to the active one instead of replacing it
    joins_active: ClassVar[bool] = False

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token[FlowInstrument | None]] = []

    def __enter__(self) -> Self:
        if not hasattr(self, "_tokens"):
            self._tokens = []
        outer = _CURRENT.get()
        active = InstrumentGroup(outer, self) if self.joins_active and outer is not None else self
        self._tokens.append(_CURRENT.set(active))
        return self

    def __exit__(self, *exc_info: object) -> None:
        _CURRENT.reset(self._tokens.pop())

    def on_flow_start(self, flow: Any) -> None: ...
    def on_flow_end(self, flow: Any) -> None: ...
    def on_node_registered(self, flow: Any, node: Any) -> None: ...
    def on_node_visited(self, flow: Any, node: Any) -> None: ...
    def on_resolution_queue_put(self, flow: Any, node: Any) -> None: ...
    def on_resolution_queue_get(self, flow: Any, node: Any) -> None: ...
    def on_solving_nodes(self, flow: Any, head_node: Any, solution_nodes: list[Any]) -> None: ...
    def on_node_resumed(self, flow: Any, node: Any, run_level: int) -> None: ...
    def on_node_stalled(self, flow: Any, node: Any, stalled_input: Any) -> None: ...
    def on_node_emitted_data(self, flow: Any, node: Any, data: tuple[Any, ...] | None, run_level: int) -> None: ...
    def on_node_generation_limit(self, flow: Any, node: Any, limit: Any) -> None: ...
    def on_node_error(self, flow: Any, node: Any, error: BaseException) -> None: ...
    def on_node_pause(self, flow: Any, node: Any, run_level: int) -> None: ...
    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None: ...
    def on_stream_start(self, stream: Any) -> None: ...
    def on_stream_next(self, stream: Any, data: Any) -> None: ...
    def on_stream_end(self, stream: Any) -> None: ...
    def on_stream_error(self, stream: Any, error: BaseException) -> None: ...
    def on_defaulted_inputs_set(self, flow: Any, node: Any, defaulted_inputs: list[int]) -> None: ...

    @contextmanager
    def on_barrier_node_write(self, flow: Any, node: Any, data: Any, run_level: int) -> Iterator[None]:
        yield

    @contextmanager
    def on_barrier_node_read(self, node: Any, run_level: int) -> Iterator[None]:
        yield

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        yield


class InstrumentGroup(FlowInstrument):
    """Several flow instruments as one: every hook calls each member, in order.

    Example::

        with InstrumentGroup(PrintInstrument(), my_counter):
            f.run_until_complete()
    """

    def __init__(self, *members: FlowInstrument) -> None:
        super().__init__()
        self.members = members

    @contextmanager
    def on_barrier_node_write(self, flow: Any, node: Any, data: Any, run_level: int) -> Iterator[None]:
        with ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member.on_barrier_node_write(flow, node, data, run_level))
            yield

    @contextmanager
    def on_barrier_node_read(self, node: Any, run_level: int) -> Iterator[None]:
        with ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member.on_barrier_node_read(node, run_level))
            yield

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        with ExitStack() as stack:
            for member in self.members:
                stack.enter_context(member.node_lifecycle(flow, node, run_level))
            yield


def _calls_every_member(name: str) -> Any:
    def hook(self: InstrumentGroup, *args: Any) -> None:
        for member in self.members:
            getattr(member, name)(*args)

    hook.__name__ = hook.__qualname__ = name
    return hook


for _name in [name for name in vars(FlowInstrument) if name.startswith("on_") and name not in vars(InstrumentGroup)]:
    setattr(InstrumentGroup, _name, _calls_every_member(_name))


NO_OP_INSTRUMENT = FlowInstrument()


def active_flow_instrument() -> FlowInstrument | None:
    return _CURRENT.get()


def get_current_flow_instrument() -> FlowInstrument:
    """The active flow instrument, or a no-op one."""
    return _CURRENT.get() or NO_OP_INSTRUMENT


class PrintInstrument(FlowInstrument):
    """Prints one tagged line per event (``[NODE-OUTPUT] ...``); override ``print`` to redirect."""

    print = print

    def on_flow_start(self, flow: Any) -> None:
        self.print(f"[FLOW-START] Flow {flow} has started.")

    def on_flow_end(self, flow: Any) -> None:
        self.print(f"[FLOW-END] Flow {flow} has completed.")

    def on_node_registered(self, flow: Any, node: Any) -> None:
        self.print(f"[NODE-REGISTERED] Node {node} was registered in the flow.")

    def on_node_visited(self, flow: Any, node: Any) -> None:
        self.print(f"[NODE-VISITED] Node {node} was visited during execution.")

    def on_resolution_queue_put(self, flow: Any, node: Any) -> None:
        self.print(f"[QUEUE-PUT] Node {node} was added to the resolution queue.")

    def on_resolution_queue_get(self, flow: Any, node: Any) -> None:
        self.print(f"[QUEUE-GET] Node {node} was retrieved from the resolution queue.")

    def on_solving_nodes(self, flow: Any, head_node: Any, solution_nodes: list[Any]) -> None:
        self.print(f"[SOLVED-NODES] Resolution solution to {head_node}: {solution_nodes}")

    def on_node_resumed(self, flow: Any, node: Any, run_level: int) -> None:
        self.print(f"[NODE-RESUMED] Node {node} resumed execution at run level {run_level}.")

    def on_node_stalled(self, flow: Any, node: Any, stalled_input: Any) -> None:
        self.print(f"[NODE-STALLED] Input {stalled_input} stalled due to stale node: {node}")

    def on_node_emitted_data(self, flow: Any, node: Any, data: Any, run_level: int) -> None:
        self.print(f"[NODE-OUTPUT] Node {node} emitted data {data} at run level {run_level}.")

    def on_node_generation_limit(self, flow: Any, node: Any, limit: Any) -> None:
        self.print(f"[NODE-LIMIT] Node {node} reached its generation limit {limit}.")

    def on_node_error(self, flow: Any, node: Any, error: BaseException) -> None:
        self.print(f"[NODE-ERROR] Node {node} encountered an error: {error}")

    def on_node_pause(self, flow: Any, node: Any, run_level: int) -> None:
        self.print(f"[NODE-PAUSED] Node {node} paused execution after generating data for run level {run_level}")

    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None:
        self.print(f"[NODE-STATUS-CHANGE] Node {node} changed status from {old_status} to {new_status}.")

    def on_stream_start(self, stream: Any) -> None:
        self.print(f"[STREAM-START] Stream {stream} has started processing.")

    def on_stream_next(self, stream: Any, data: Any) -> None:
        self.print(f"[STREAM-NEXT] Stream {stream} processed next item: {data!r}")

    def on_stream_end(self, stream: Any) -> None:
        self.print(f"[STREAM-END] Stream {stream} has completed processing.")

    def on_stream_error(self, stream: Any, error: BaseException) -> None:
        self.print(f"[STREAM-ERROR] Stream {stream} encountered an error: {error}")

    def on_defaulted_inputs_set(self, flow: Any, node: Any, defaulted_inputs: list[int]) -> None:
        self.print(f"[DEFAULTED-INPUTS] Node {node} defaulted inputs: {defaulted_inputs}.")

    @contextmanager
    def on_barrier_node_write(self, flow: Any, node: Any, data: Any, run_level: int) -> Iterator[None]:
        self.print(
            f"[WRITE-BARRIER-START] Node {node} will block until downstream nodes have consumed last data. "
            f"(run level: {run_level})"
        )
        try:
            yield
        finally:
            self.print(f"[WRITE-BARRIER-END] Node {node} is unblocked. Writing data: {data}. (run level: {run_level})")

    @contextmanager
    def on_barrier_node_read(self, node: Any, run_level: int) -> Iterator[None]:
        self.print(f"[READ-BARRIER-START] Informing Node {node} that available data is being read. (run level: {run_level})")
        try:
            yield
        finally:
            self.print("[READ-BARRIER-END] Done")

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        self.print(f"[NODE-EVAL-START] Evaluating node {node} at run level {run_level}")
        try:
            yield
        finally:
            self.print(f"[NODE-EVAL-END] Finished evaluating node {node} at run level {run_level}")


class LogInstrument(PrintInstrument):
    """PrintInstrument's lines sent to ``logger.debug``."""

    def print(self, *args: Any) -> None:  # type: ignore[override]
        logger.debug(" ".join(str(a) for a in args))


class MinimalInstrument(FlowInstrument):
    """Prints flow start/end and each node evaluation."""

    def on_flow_start(self, flow: Any) -> None:
        print(f"Flow started: {flow}")

    def on_flow_end(self, flow: Any) -> None:
        print(f"Flow completed: {flow}")

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        print(f"Starting node: {node} (run_level: {run_level})")
        try:
            yield
        finally:
            print(f"Completed node: {node} (run_level: {run_level})")
