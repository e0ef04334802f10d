"""Port indices and forward references: the plain values connections are written with.

``NodePlaceholder`` is what ``f.name`` returns inside a ``FlowHDL`` block for a name not defined
yet (a forward reference); ``OutputPortRefPlaceholder`` is ``f.name.output(k)``. Both are resolved
by name when the outermost block exits. The references to ports of real nodes live beside their
nodes (``draft.py``, ``finalized.py``). All of these keep flowno's names and reprs, and, as in
flowno, placeholders compare by value (``NodePlaceholder("x") == NodePlaceholder("x")``); unlike
flowno's they are also hashable.

``Output[T]`` is the common base of everything an input can be wired to; it carries, for type
checkers only, the type of the values produced. ``Stream[T]`` is the interface a ``stream_in``
input receives (the runtime's ``ConnectionStream`` implements it); it lives here so that, for type
checkers, an ``Output`` can also be a ``Stream``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NewType, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

InputPortIndex = NewType("InputPortIndex", int)
OutputPortIndex = NewType("OutputPortIndex", int)

#: the default value of a port that has none
EMPTY = inspect.Parameter.empty


class Stream(Generic[T_co], AsyncIterator[T_co]):
    """The chunks a streaming producer publishes, as seen by one ``stream_in`` input.

    A new Stream is made for every evaluation of the consumer; the read position lives in the
    flow (per connection), so several consumers of one producer read independently. A
    non-streaming producer arrives as a one-item stream of its value.

    Example::

        @node(stream_in=["words"])
        async def Shout(words: Stream[str]):
            async for word in words:
                yield word.upper()
    """

    __slots__ = ()
    run_level = 1

    if TYPE_CHECKING:  # implemented by the flow's streams (runtime.streams.ConnectionStream)

        @property
        def input(self) -> Any: ...

        @property
        def output(self) -> Any: ...

        async def cancel(self) -> None:
            """Stop receiving this stream: the producer gets ``StreamCancelled`` at its next step."""


if TYPE_CHECKING:

    class Output(Stream[T_co]):
        """What type checkers see of an ``Output`` (the run-time class below is documented)."""

        def output(self, output_port: int) -> Output[Any]: ...  # type: ignore[override]

        def get_data(self, run_level: int = 0) -> Any: ...

        async def __anext__(self) -> T_co: ...

        def __getattr__(self, name: str) -> Any: ...  # a class node's own attributes, for code written for flowno

else:

    class Output(Generic[T_co]):
        """Something a node's input can be wired to, producing values of type ``T``.

        Draft nodes, their output ports and forward references are Outputs. Calling a node class
        gives, for type checkers, an ``Output`` of what the node returns, and each node parameter
        of type ``A`` accepts an ``A`` or an ``Output[A]``, so wiring an ``int`` into a ``str``
        port is reported before the flow runs. For type checkers an Output is also a ``Stream`` of
        its values, since any producer can feed a ``stream_in`` port (a value arrives as a one-item
        stream). At run time the class adds nothing.

        Example::

            @node
            async def Length(text: str) -> int:
                return len(text)

            with FlowHDL() as f:
                f.length = Length("abc")     # f.length: Output[int]
                f.twice = Length(f.length)   # mypy and pyright: Output[int] is not str | Output[str]
        """

        __slots__ = ()


if TYPE_CHECKING:
    _AnyFinalValue = Any  # a base of Any: fits whatever a port expects, after the nominal checks
else:
    _AnyFinalValue = object


class StreamOutput(Output[T_co], _AnyFinalValue):
    """What type checkers see for a streaming node of ``T`` chunks (it is never made at run time).

    It fits a ``Stream[T]`` parameter of a ``stream_in`` consumer, which reads the chunks (pyright
    reports a ``Stream`` of another chunk type). Any other parameter takes the stream's final value,
    whose type depends on the chunks (strings joined, numbers summed, other values collected in a
    list) or on ``accumulate=``: it is not checked.

    Example::

        @node
        async def Words(text: str) -> AsyncIterator[str]:
            for word in text.split():
                yield word

        @node(stream_in=["numbers"])
        async def Total(numbers: Stream[int]) -> int:
            return sum([n async for n in numbers])

        with FlowHDL() as f:
            f.words = Words("a b")          # f.words: StreamOutput[str]
            f.total = Total(f.words)        # pyright: a Stream[str] is not a Stream[int]
    """

    __slots__ = ()


@dataclass
class NodePlaceholder(Output[Any]):
    """A forward reference to a node that is not defined yet (``f.later`` inside the block)."""

    name: str

    def __hash__(self) -> int:
        return hash(self.name)

    def output(self, output_port: int) -> "OutputPortRefPlaceholder[Any]":
        return OutputPortRefPlaceholder(self, OutputPortIndex(output_port))

    def __repr__(self) -> str:
        return f"NodePlaceholder(name={self.name!r})"


@dataclass
class OutputPortRefPlaceholder(Output[T]):
    """A forward reference to output ``port_index`` of a node not defined yet."""

    node: NodePlaceholder
    port_index: OutputPortIndex

    def __hash__(self) -> int:
        return hash((self.node.name, self.port_index))

    def __repr__(self) -> str:
        return f"{self.node!r}.output({self.port_index})"
