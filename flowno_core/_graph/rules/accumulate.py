"""Accumulating streamed chunks into a stream's final value (SPEC §3.5, D6).

Theory of operation: per output port, the chunks of a lap fall in one *category*: numbers (int,
float, bool, in any mix) are summed, str and bytes are joined, lists and tuples concatenated; as
soon as a port sees a chunk of another category (or a type outside these) its final value becomes
the list of all its chunks. Sums are kept as a running total so a long numeric stream costs constant
memory; to be able to fall back to the list of chunks, the first ``NUMERIC_HISTORY`` numbers are
remembered, and a category change after more numbers than that raises a clear error (pass
``accumulate=`` to the node instead). The other categories keep their chunks anyway, because the
final value contains them. A custom accumulator (``@node(accumulate=fn)`` or an overridden
``accumulate_streamed_data``) replaces the rule: ``fn(acc_tuple, chunk_tuple) -> tuple``, starting
from the first chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

NUMERIC_HISTORY = 256
"""How many numbers a port remembers to fall back to the list of chunks; 256 keeps a streaming
node's memory within a few KiB (about 9 KiB of floats) while covering short mixed streams."""

_NUMBER, _STR, _BYTES, _LIST, _TUPLE, _OTHER = range(6)
_EXACT = {int: _NUMBER, float: _NUMBER, bool: _NUMBER, str: _STR, bytes: _BYTES, list: _LIST, tuple: _TUPLE}


def _category(value: Any) -> int:
    category = _EXACT.get(type(value))
    if category is not None:
        return category
    if isinstance(value, (int, float)) and not isinstance(value, complex):
        return _NUMBER
    for base, found in ((str, _STR), (bytes, _BYTES), (list, _LIST), (tuple, _TUPLE)):
        if isinstance(value, base):
            return found
    return _OTHER


class _Port:
    """Accumulation state of one output port."""

    __slots__ = ("category", "kind", "total", "parts", "overflow")

    def __init__(self, first: Any) -> None:
        self.kind = type(first)
        self.category = _category(first)
        self.total = first if self.category == _NUMBER else None
        self.parts: list[Any] = [first]
        self.overflow = False

    def add(self, value: Any, owner: str) -> None:
        category = self.category
        if category == _OTHER:
            self.parts.append(value)
            return
        if _category(value) != category:
            if self.overflow:
                raise ValueError(
                    f"{owner}: a stream of more than {NUMERIC_HISTORY} numbers continued with {value!r}; "
                    "the chunks can no longer be collected into a list. "
                    "Give the node an explicit accumulator (@node(accumulate=fn)) or raise StopAsyncIteration(final)"
                )
            self.category = _OTHER
            self.total = None
            self.parts.append(value)
            return
        if category == _NUMBER:
            self.total = self.total + value
            if len(self.parts) < NUMERIC_HISTORY:
                self.parts.append(value)
            else:
                self.overflow = True
        else:
            self.parts.append(value)

    def result(self) -> Any:
        category = self.category
        parts = self.parts
        if category == _NUMBER:
            return self.total
        if category == _STR:
            return "".join(parts)
        if category == _BYTES:
            return b"".join(parts)
        if category == _LIST:
            return list(chain.from_iterable(parts))
        if category == _TUPLE:
            return tuple(chain.from_iterable(parts))
        return list(parts)


class Accumulator:
    """Builds one lap's final value from its chunk tuples."""

    __slots__ = ("owner", "custom", "ports", "acc", "count")

    def __init__(
        self, owner: str, custom: Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]] | None = None
    ) -> None:
        self.owner = owner
        self.custom = custom
        self.ports: list[_Port] | None = None
        self.acc: tuple[Any, ...] | None = None
        self.count = 0

    def add(self, chunk: tuple[Any, ...]) -> None:
        self.count += 1
        if self.custom is not None:
            self.acc = chunk if self.count == 1 else self.custom(self.acc, chunk)  # type: ignore[arg-type]
            return
        ports = self.ports
        if ports is None:
            self.ports = [_Port(value) for value in chunk]
            return
        if len(ports) == 1 and len(chunk) == 1:  # the common case, inlined: one output, same type
            port = ports[0]
            value = chunk[0]
            if value.__class__ is port.kind:
                parts = port.parts
                if port.category == _NUMBER:
                    port.total += value
                    if len(parts) < NUMERIC_HISTORY:
                        parts.append(value)
                    else:
                        port.overflow = True
                else:
                    parts.append(value)
                return
        if len(chunk) != len(ports):
            raise ValueError(
                f"{self.owner} yielded a chunk with {len(chunk)} values after chunks with {len(ports)}; "
                "every chunk of a multi-output node must be a tuple with one value per output"
            )
        for port, value in zip(ports, chunk):
            port.add(value, self.owner)

    def result(self) -> tuple[Any, ...] | None:
        """The final value, or None when the lap had no chunks."""
        if self.count == 0:
            return None
        if self.custom is not None:
            return self.acc
        assert self.ports is not None
        return tuple(port.result() for port in self.ports)


def combine_pair(accumulator: tuple[Any, ...], partial: tuple[Any, ...]) -> tuple[Any, ...]:
    """The built-in rule applied to one accumulated tuple and one more chunk (pairwise form)."""
    combined = []
    for acc, value in zip(accumulator, partial):
        acc_category, value_category = _category(acc), _category(value)
        if acc_category == value_category and acc_category != _OTHER:
            combined.append(acc + value)
        else:
            combined.append([acc, value])
    return tuple(combined)
