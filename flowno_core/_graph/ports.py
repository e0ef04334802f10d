"""Port references and placeholders: the plain data that connections are made of.

Draft refs point at draft nodes while a flow is being described; finalized refs point at finalized
nodes afterwards. ``NodePlaceholder`` is what ``f.name`` returns for a name not defined yet (a
forward reference); ``OutputPortRefPlaceholder`` is ``f.name.output(k)``. All of these are small
value objects with flowno's names and reprs (``Add#0.output(1)``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, NewType, TypeVar

if TYPE_CHECKING:
    from .draft import DraftNode
    from .finalized import FinalizedNode

T = TypeVar("T")

InputPortIndex = NewType("InputPortIndex", int)
OutputPortIndex = NewType("OutputPortIndex", int)

EMPTY = inspect.Parameter.empty


@dataclass(eq=False)
class NodePlaceholder:
    """A forward reference to a node that is not defined yet (``f.later`` inside the block)."""

    name: str

    def output(self, output_port: int) -> "OutputPortRefPlaceholder[Any]":
        return OutputPortRefPlaceholder(self, OutputPortIndex(output_port))

    def __repr__(self) -> str:
        return f"NodePlaceholder(name={self.name!r})"


@dataclass(eq=False)
class OutputPortRefPlaceholder(Generic[T]):
    """A forward reference to output ``port_index`` of a node not defined yet."""

    node: NodePlaceholder
    port_index: OutputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"


@dataclass
class DraftOutputPortRef(Generic[T]):
    """Output ``port_index`` of a draft node (what ``node.output(k)`` returns)."""

    node: "DraftNode"
    port_index: OutputPortIndex

    def connect(self, target: "DraftInputPortRef[Any]") -> None:
        """Connect this output to ``target`` (replacing what the input was connected to)."""
        consumer = target.node
        port = consumer._input_ports[target.port_index]
        port.connected_output = self
        self.node._connected_output_nodes.setdefault(self.port_index, []).append(consumer)

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"


@dataclass
class DraftInputPortRef(Generic[T]):
    """Input ``port_index`` of a draft node."""

    node: "DraftNode"
    port_index: InputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.input({self.port_index})"


@dataclass
class FinalizedOutputPortRef(Generic[T]):
    node: "FinalizedNode"
    port_index: OutputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"


@dataclass
class FinalizedInputPortRef(Generic[T]):
    node: "FinalizedNode"
    port_index: InputPortIndex

    def __repr__(self) -> str:
        return f"{self.node!r}.input({self.port_index})"


@dataclass(eq=False)
class DraftInputPort(Generic[T]):
    """One input of a draft node: what it is connected to, its run level and its default."""

    connected_output: "DraftOutputPortRef[T] | OutputPortRefPlaceholder[T] | None" = None
    minimum_run_level: int = 0
    default_value: Any = EMPTY

    @property
    def has_default(self) -> bool:
        return self.default_value is not EMPTY


@dataclass(eq=False)
class FinalizedInputPort(Generic[T]):
    """One input of a finalized node."""

    port_index: InputPortIndex
    connected_output: "FinalizedOutputPortRef[T] | None" = None
    minimum_run_level: int = 0
    default_value: Any = EMPTY
    stitch_level_0: int = field(default=0)

    @property
    def has_default(self) -> bool:
        return self.default_value is not EMPTY
