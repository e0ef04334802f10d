"""Stable hashes for checkpoints: a flow's graph fingerprint and a node evaluation's cache key.

Theory of operation: both are SHA-256 hex digests of a canonical encoding, the same in every
process (no ``hash()``, no memory addresses, no set or dict iteration order), so a file written by
one process is recognised by the next.

``graph_fingerprint`` hashes the flow's shape. Its input is one ``(kind, inputs)`` pair per node in
definition order: ``kind`` names what the node computes (the runtime passes the node class's
qualified name) and ``inputs`` lists the node's connected input ports as ``(input_port,
producer_index, producer_output)``, where ``producer_index`` is the producer's position in the same
sequence; their order does not matter. Node code is deliberately not part of it: fixing a node and
resuming is what checkpoints are for. ``describe_graph`` renders the same input as text, one
summary line then one line per node, so a mismatch can be explained::

    3 nodes (Produce, Double, Sink)
    #0 Produce
    #1 Double: in0 <- #0.out0
    #2 Sink: in0 <- #1.out0

``cache_key`` hashes what an evaluation's result depends on. "Code unchanged" means: the same
bytecode (``co_code``), constants (nested functions' code included, recursively), referenced names
and argument flags of the node function, the same module and qualified name, the same default
values and closure cell contents, and, for every global name the code uses, the same code if it is
a Python function (followed recursively, so editing a helper the node calls changes the key) or the
same value if it is an immutable constant (numbers, strings, bytes, tuples and frozensets of them).
Other globals (modules, classes, objects such as clients) count by name only: their contents are
not part of the key. Line numbers are not part of it (moving a function or adding a comment keeps
its key); docstrings are (they are constants), and so is the interpreter's bytecode tag
(``cpython-311``), since bytecode means nothing across versions. Inputs are pickled with protocol
5. When in doubt the key changes: a false miss costs one recomputation, a false hit would be wrong
data; so an input, default or closure value that cannot be pickled, or a callable that is not a
Python function, gives no key (None: the evaluation is not cached). Equal inputs whose pickles
differ (two sets of strings iterate in hash-seed order; dicts in insertion order) are misses.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
from collections.abc import Callable, Sequence
from types import CellType, CodeType, FunctionType
from typing import Any, Final

#: one node of the flow's shape: its kind and its connected inputs (input_port, producer_index, producer_output)
NodeShape = tuple[str, Sequence[tuple[int, int, int]]]

_FINGERPRINT_FORMAT: Final = "flowno graph 1"
_CACHE_KEY_FORMAT: Final = b"flowno cache key 1"
_KEY_PICKLE_PROTOCOL: Final = 5
_PLAIN_CONSTANTS: Final = (type(None), bool, int, float, complex, str, bytes, type(Ellipsis))
_KINDS_IN_SUMMARY: Final = 8


def graph_fingerprint(nodes: Sequence[NodeShape]) -> str:
    """The SHA-256 hex digest of the flow's shape (see the module docstring for the input)."""
    canonical = [[kind, [list(connection) for connection in inputs]] for kind, inputs in _normalized(nodes)]
    encoded = json.dumps([_FINGERPRINT_FORMAT, canonical], separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def describe_graph(nodes: Sequence[NodeShape]) -> str:
    """The flow's shape as text: a summary line, then one line per node with its inputs."""
    shapes = _normalized(nodes)
    kinds = [kind for kind, _ in shapes]
    hidden = len(kinds) - _KINDS_IN_SUMMARY
    shown = ", ".join(kinds[:_KINDS_IN_SUMMARY]) + (f", ... ({hidden} more)" if hidden > 0 else "")
    lines = [f"{len(kinds)} node{'' if len(kinds) == 1 else 's'} ({shown})"]
    for index, (kind, inputs) in enumerate(shapes):
        wiring = ", ".join(f"in{port} <- #{producer}.out{output}" for port, producer, output in inputs)
        lines.append(f"#{index} {kind}: {wiring}" if wiring else f"#{index} {kind}")
    return "\n".join(lines)


def _normalized(nodes: Sequence[NodeShape]) -> list[tuple[str, list[tuple[int, int, int]]]]:
    """The shape with each node's inputs sorted by port; ValueError for a producer outside the flow."""
    shapes: list[tuple[str, list[tuple[int, int, int]]]] = []
    for index, (kind, inputs) in enumerate(nodes):
        connections = sorted((int(port), int(producer), int(output)) for port, producer, output in inputs)
        for port, producer, _ in connections:
            if not 0 <= producer < len(nodes):
                problem = f"input {port} names producer #{producer}; the flow has {len(nodes)} nodes"
                raise ValueError(f"node #{index} ({kind}): {problem}")
        shapes.append((kind, connections))
    return shapes


class _Uncacheable(Exception):
    """Something the key must cover cannot be pickled."""


def cache_key(function: Callable[..., Any], inputs: tuple[Any, ...]) -> str | None:
    """The SHA-256 hex key of calling ``function`` with ``inputs``, or None when it cannot be keyed.

    For a class node pass its ``call`` function (``self`` is not part of the key).
    """
    function = getattr(function, "__func__", function)  # a bound method: the function it binds
    if not isinstance(function, FunctionType):
        return None
    try:
        code = _function_token(function, set())
        pickled_inputs = _pickled_for_key(inputs)
    except _Uncacheable:
        return None
    return _digest(_CACHE_KEY_FORMAT, str(sys.implementation.cache_tag).encode(), code, pickled_inputs).hex()


def _function_token(function: FunctionType, seen: set[int]) -> bytes:
    """The function's code, defaults, closure and the globals it uses (``seen``: already covered)."""
    name = f"{function.__module__}.{function.__qualname__}".encode()
    if id(function) in seen:
        return _digest(b"again", name)  # (recursion: its first occurrence covers it)
    seen.add(id(function))
    code = function.__code__
    return _digest(
        b"function",
        name,
        _code_token(code),
        _bound_value_token(function.__defaults__, seen),
        _bound_value_token(function.__kwdefaults__, seen),
        *(_cell_token(cell, seen) for cell in function.__closure__ or ()),
        *(_global_token(global_name, function.__globals__, seen) for global_name in sorted(_names_used(code))),
    )


def _code_token(code: CodeType) -> bytes:
    """Bytecode, flags, referenced names and constants; not line numbers or local variable names."""
    flags = f"{code.co_argcount},{code.co_posonlyargcount},{code.co_kwonlyargcount},{code.co_flags}"
    names = "\0".join(code.co_names).encode()
    return _digest(b"code", code.co_code, flags.encode(), names, *map(_constant_token, code.co_consts))


def _constant_token(value: Any) -> bytes:
    """A code constant or a plain global value (frozensets in an order independent of the hash seed)."""
    if isinstance(value, CodeType):
        return _code_token(value)
    if isinstance(value, tuple):
        return _digest(b"tuple", *map(_constant_token, value))
    if isinstance(value, frozenset):
        return _digest(b"frozenset", *sorted(map(_constant_token, value)))
    return _digest(type(value).__qualname__.encode(), repr(value).encode())


def _names_used(code: CodeType) -> set[str]:
    """Global and attribute names referenced by ``code`` and the code nested in it."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names_used(constant)
    return names


def _bound_value_token(value: Any, seen: set[int]) -> bytes:
    """A default or closure value: a function by its code, anything else by its pickle."""
    if isinstance(value, FunctionType):
        return _function_token(value, seen)
    return _pickled_for_key(value)


def _cell_token(cell: CellType, seen: set[int]) -> bytes:
    try:
        contents = cell.cell_contents
    except ValueError:  # an empty cell: the enclosing function has not assigned the variable
        return b"empty cell"
    return _bound_value_token(contents, seen)


def _global_token(name: str, namespace: dict[str, Any], seen: set[int]) -> bytes:
    """A global the code uses: a function by its code, a plain constant by value, else by name."""
    if name not in namespace:
        return b""  # a builtin or an attribute name: covered by the code's names
    value = namespace[name]
    if isinstance(value, FunctionType):
        return _digest(name.encode(), _function_token(value, seen))
    if _is_plain_constant(value):
        return _digest(name.encode(), _constant_token(value))
    return _digest(name.encode(), b"opaque")


def _is_plain_constant(value: Any) -> bool:
    if isinstance(value, (tuple, frozenset)):
        return all(_is_plain_constant(item) for item in value)
    return isinstance(value, _PLAIN_CONSTANTS)


def _pickled_for_key(value: Any) -> bytes:
    try:
        return pickle.dumps(value, _KEY_PICKLE_PROTOCOL)
    except Exception as error:  # a value's own __reduce__ may raise anything
        raise _Uncacheable from error


def _digest(*parts: bytes) -> bytes:
    """SHA-256 of the parts, each length-prefixed so that no two sequences of parts collide."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()
