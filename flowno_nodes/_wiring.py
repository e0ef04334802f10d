"""Keyword arguments for node constructors (a private helper of flowno_nodes).

Theory of operation: a flowno node's constructor is positional: argument *i* connects input port
*i*, and a value that is not a node becomes a hidden constant input. ``with_keywords(NodeClass)``
returns a subclass whose constructor also takes the parameters by name. It binds the call against
the node function's signature and turns it back into positional arguments, filling a skipped
parameter with its default (which then arrives as a constant input, exactly as if the caller had
written it out). Without keywords the arguments pass through untouched, so positional wiring,
forward references and the run-time checks of flowno_core behave as for any ``@node``.

``prepare`` may rewrite the bound arguments before they become ports; ChatCompletion uses it to wrap
a plain-string API key in ``Secret``, so that no object of the graph ever holds the raw key.

Only flowno_core's public API is used: the subclass overrides ``__init__`` and calls the
``@node`` class's constructor with positional arguments.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from flowno_core import DraftNode

C = TypeVar("C")

Prepare = Callable[[dict[str, Any]], None]


# For type checkers the class keeps the type @node gave it: its positional inputs are checked, and
# every node type accepts arguments by name (unchecked), so generic nodes stay generic.
@overload
def with_keywords(node_class: C, /) -> C: ...


@overload
def with_keywords(*, prepare: Prepare | None = None) -> Callable[[C], C]: ...


def with_keywords(node_class: Any = None, /, *, prepare: Prepare | None = None) -> Any:
    """Let a ``@node`` function class take its parameters by name as well as by position.

    Use it above ``@node`` (``@with_keywords`` or ``@with_keywords(prepare=fn)``). For type
    checkers the positional arguments keep the types ``@node`` gave them and a call still gives
    the node's ``Output`` type; arguments by name are accepted and not checked.

    Example::

        @with_keywords
        @node
        async def Fetch(url, headers=None, timeout=30.0):
            ...

        with FlowHDL() as f:
            f.a = Fetch(f.url, timeout=5.0)     # same as Fetch(f.url, None, 5.0)
    """
    if node_class is None:
        return lambda cls: _subclass(cls, prepare)
    return _subclass(node_class, prepare)


def _subclass(node_class: Any, prepare: Prepare | None) -> Any:
    function = getattr(node_class, "__wrapped__", None)
    if not (isinstance(node_class, type) and issubclass(node_class, DraftNode)) or function is None:
        raise TypeError(f"with_keywords() expects a class made by @node from a function, got {node_class!r}")
    base: type[DraftNode] = node_class
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    name = node_class.__name__

    def __init__(self: DraftNode, *args: Any, **kwargs: Any) -> None:
        if kwargs or prepare is not None:
            args = _positional(name, signature, parameters, args, kwargs, prepare)
        base.__init__(self, *args)

    self_parameter = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = signature.replace(parameters=[self_parameter, *parameters])  # type: ignore[attr-defined]
    namespace = {
        "__init__": __init__,
        "__module__": node_class.__module__,
        "__qualname__": node_class.__qualname__,
        "__doc__": node_class.__doc__,
        "_instance_counter": 0,
    }
    return type(name, (base,), namespace)


def _positional(
    name: str,
    signature: inspect.Signature,
    parameters: list[inspect.Parameter],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    prepare: Prepare | None,
) -> tuple[Any, ...]:
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError as error:
        known = ", ".join(p.name for p in parameters)
        raise TypeError(f"{name}(): {error} (its parameters, in order: {known})") from None
    arguments = bound.arguments
    if prepare is not None:
        prepare(arguments)
    given = [index for index, parameter in enumerate(parameters) if parameter.name in arguments]
    if not given:
        return ()
    positional: list[Any] = []
    for parameter in parameters[: given[-1] + 1]:
        if parameter.name in arguments:
            positional.append(arguments[parameter.name])
        elif parameter.default is not inspect.Parameter.empty:
            positional.append(parameter.default)
        else:
            raise TypeError(
                f"{name}(): missing the required argument {parameter.name!r} "
                f"(pass it first, by position, or by name)"
            )
    return tuple(positional)
