"""Port indices and forward references: the plain values connections are written with.

``NodePlaceholder`` is what ``f.name`` returns inside a ``FlowHDL`` block for a name not defined
yet (a forward reference); ``OutputPortRefPlaceholder`` is ``f.name.output(k)``. Both are resolved
by name when the outermost block exits. The references to ports of real nodes live beside their
nodes (``draft.py``, ``finalized.py``). All of these keep flowno's names and reprs, and, as in
flowno, placeholders compare by value (``NodePlaceholder("x") == NodePlaceholder("x")``); unlike
flowno's they are also hashable.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Generic, NewType, TypeVar

T = TypeVar("T")

InputPortIndex = NewType("InputPortIndex", int)
OutputPortIndex = NewType("OutputPortIndex", int)

#: the default value of a port that has none
EMPTY = inspect.Parameter.empty


@dataclass
class NodePlaceholder:
    """A forward reference to a node that is not defined yet (``f.later`` inside the block)."""

    name: str

    def __hash__(self) -> int:
        return hash(self.name)

    def output(self, output_port: int) -> "OutputPortRefPlaceholder[Any]":
        return OutputPortRefPlaceholder(self, OutputPortIndex(output_port))

    def __repr__(self) -> str:
        return f"NodePlaceholder(name={self.name!r})"


@dataclass
class OutputPortRefPlaceholder(Generic[T]):
    """A forward reference to output ``port_index`` of a node not defined yet."""

    node: NodePlaceholder
    port_index: OutputPortIndex

    def __hash__(self) -> int:
        return hash((self.node.name, self.port_index))

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"
