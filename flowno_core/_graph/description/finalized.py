"""Finalized nodes and their stored data.

Theory of operation: a ``FinalizedNode`` is the public face of a node after the FlowHDL block; it
keeps flowno's attributes (``generation``, ``get_data``, ``output``/``input``, ``_input_ports``,
``_connected_output_nodes``, ``_draft_node``) and delegates unknown attribute reads and writes to
its draft (so ``f.counter.count`` reads a stateful node's state).

Its stored data lives in a ``NodeData`` record with O(1) everything (D9, D14): the current
generation, the latest final value (and its generation), and the latest chunk. Only what
``get_data`` can still return is kept; the chunks that streaming consumers have not read yet are
kept by the runtime (``streams.Lap``), not here.

Like ``DraftNode``, ``FinalizedNode`` is generic (``FinalizedNode[int, tuple[int]]``) at no
per-instance cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, Unpack

from ..rules.generations import Generation, inc_generation
from .draft import DraftNode, DraftOutputPortRef, OriginalCall, ReturnTupleT_co, Ts, original_call_of
from .ports import EMPTY, InputPortIndex, OutputPortIndex

T = TypeVar("T")


@dataclass
class FinalizedOutputPortRef(Generic[T]):
    """Output ``port_index`` of a finalized node."""

    node: "FinalizedNode"
    port_index: OutputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"


@dataclass
class FinalizedInputPortRef(Generic[T]):
    """Input ``port_index`` of a finalized node."""

    node: "FinalizedNode"
    port_index: InputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.input({self.port_index})"


@dataclass(eq=False)
class FinalizedInputPort(Generic[T]):
    """One input of a finalized node (``stitch_level_0`` is the feedback offset of SPEC §2.8)."""

    port_index: InputPortIndex
    connected_output: "FinalizedOutputPortRef[T] | None" = None
    minimum_run_level: int = 0
    default_value: Any = EMPTY
    stitch_level_0: int = field(default=0)

    @property
    def has_default(self) -> bool:
        return self.default_value is not EMPTY


class NodeData:
    """Generation and the data ``get_data`` can return (SPEC §2.3 with D14)."""

    __slots__ = ("gen", "final", "final_gen", "chunk")

    def __init__(self) -> None:
        self.gen: Generation = None
        self.final: tuple[Any, ...] | None = None
        self.final_gen: Generation = None
        self.chunk: tuple[Any, ...] | None = None

    def get(self, run_level: int = 0) -> tuple[Any, ...] | None:
        gen = self.gen
        if gen is None:
            return None
        if run_level == 0:
            if len(gen) == 1:
                return self.final
            # mid-stream: the previous completed final value, if it is the one just before
            final_gen = self.final_gen
            if final_gen is not None and final_gen[0] == gen[0] - 1:
                return self.final
            return None
        if run_level == 1 and len(gen) == 2:
            return self.chunk
        return None

    def push(self, data: tuple[Any, ...] | None, run_level: int = 0) -> Generation:
        gen = inc_generation(self.gen, run_level)
        self.gen = gen
        if run_level == 0:
            self.final = data
            self.final_gen = gen
            self.chunk = None
        else:
            self.chunk = data
        return gen


class FinalizedNode(Generic[Unpack[Ts], ReturnTupleT_co]):
    """A node of a finalized flow (what ``f.name`` is after the ``with FlowHDL()`` block).

    Generic like ``DraftNode``: ``FinalizedNode[int, tuple[int]]``.

    Example::

        f.run_until_complete()
        f.total.generation        # e.g. (0,)
        f.total.get_data()        # e.g. (10,)
    """

    def __init__(self, draft: "DraftNode[Unpack[Ts], ReturnTupleT_co]") -> None:
        setattr_ = object.__setattr__
        setattr_(self, "_draft_node", draft)
        setattr_(self, "_original_call", original_call_of(type(draft)))
        setattr_(self, "_instance_id", draft._instance_id)
        setattr_(self, "_creation_index", draft._creation_index)
        setattr_(self, "_input_ports", {})
        setattr_(self, "_connected_output_nodes", {})
        setattr_(self, "_data", NodeData())
        setattr_(self, "_runtime", None)  # the flow's NodeState, set by Flow.add_node

    def _finalize_connections(self, finalized: dict[DraftNode, "FinalizedNode"]) -> None:
        draft = self._draft_node
        ports: dict[InputPortIndex, FinalizedInputPort[Any]] = {}
        for index in sorted(draft._input_ports):
            draft_port = draft._input_ports[index]
            connected = draft_port.connected_output
            output_ref: FinalizedOutputPortRef[Any] | None = None
            if isinstance(connected, DraftOutputPortRef):
                output_ref = FinalizedOutputPortRef(finalized[connected.node], connected.port_index)
            ports[index] = FinalizedInputPort(
                port_index=index,
                connected_output=output_ref,
                minimum_run_level=draft_port.minimum_run_level,
                default_value=draft_port.default_value,
            )
        self._input_ports.update(ports)
        for port_index in sorted(draft._connected_output_nodes):
            consumers = draft._connected_output_nodes[port_index]
            self._connected_output_nodes[port_index] = [finalized[c] for c in consumers if c in finalized]

    # -- attribute delegation to the draft --------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(object.__getattribute__(self, "_draft_node"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in self.__dict__ or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            setattr(self._draft_node, name, value)

    # -- data -------------------------------------------------------------------------------------
    @property
    def generation(self) -> Generation:
        """The highest generation stored (``None`` before the node first produced anything)."""
        return self._data.gen

    def get_data(self, run_level: int = 0) -> tuple[Any, ...] | None:
        """The data complete at ``run_level`` (0 = final value, 1 = latest chunk), or None."""
        return self._data.get(run_level)

    def push_data(self, data: tuple[Any, ...] | None, run_level: int = 0) -> None:
        """Store ``data`` under the next generation (internal; used by the runtime)."""
        self._data.push(data, run_level)

    # -- ports ------------------------------------------------------------------------------------
    def output(self, output_port: int) -> FinalizedOutputPortRef[Any]:
        return FinalizedOutputPortRef(self, OutputPortIndex(output_port))

    def input(self, port_index: int) -> FinalizedInputPortRef[Any]:
        return FinalizedInputPortRef(self, InputPortIndex(port_index))

    def get_output_nodes(self) -> list["FinalizedNode"]:
        return [c for consumers in self._connected_output_nodes.values() for c in consumers]

    def get_input_nodes(self) -> list["FinalizedNode"]:
        return [
            port.connected_output.node for port in self._input_ports.values() if port.connected_output is not None
        ]

    def has_default_for_input(self, input_port_index: int) -> bool:
        port = self._input_ports.get(InputPortIndex(input_port_index))
        return port is not None and port.has_default

    @property
    def original_call(self) -> OriginalCall:
        return self._original_call

    def __repr__(self) -> str:
        return repr(self._draft_node)


DraftNode._finalized_class = FinalizedNode
