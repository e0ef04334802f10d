"""The arguments of a node constructor: inputs are positional, and a keyword says how to write it.

Theory of operation: a node's argument *i* connects its input port *i* (a value that is not a node
becomes a hidden constant input). As in flowno, keywords are refused (``TypeError ... unexpected
keyword argument``); the error here adds what to write instead: the keyword's position, or the
node's parameters when the name is unknown. (Extra positional arguments still fail only when the
node runs, as in flowno; ``python -m flowno_core check`` finds them before.)
"""

from __future__ import annotations

import inspect
from typing import Any

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def port_names(original_call: Any) -> list[str]:
    """The names of the parameters that are input ports, in order."""
    parameters = list(original_call.signature.parameters.values())
    if original_call.class_name is not None and parameters:
        parameters = parameters[1:]  # (``self`` of a class node's ``call``)
    return [p.name for p in parameters if p.kind not in _VARIADIC]


def keyword_error(name: str, original_call: Any, kwargs: dict[str, Any]) -> TypeError:
    """The error for ``Node(..., key=value)``, with a hint naming the position to use."""
    key = next(iter(kwargs))
    error = TypeError(f"{name}() got an unexpected keyword argument {key!r}")
    names = port_names(original_call) if original_call is not None else []
    if key in names:
        position = names.index(key)
        error.add_note(
            f"hint: node inputs are positional: pass {key!r} as argument {position + 1} "
            f"({name}({', '.join(names[: position + 1])}))"
        )
    else:
        known = ", ".join(names) or "none"
        error.add_note(f"hint: {name} has no parameter {key!r}; its inputs, in order, are: {known}")
    return error
