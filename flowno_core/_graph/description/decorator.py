"""The ``@node`` decorator family: turn async functions and classes into node classes.

Theory of operation: decorating builds a ``DraftNode`` subclass whose class attributes describe
the ports (``_minimum_run_level``: 1 for ``stream_in`` parameters, 0 otherwise;
``_default_values``: parameter defaults) and where the code comes from (``_original_call``, used
by error messages). ``call`` returns the user's coroutine or async generator unchanged; the runtime
wraps single-output results in a 1-tuple (``_single_output``), which saves a wrapper coroutine per
evaluation and keeps ``raise StopAsyncIteration(value)`` visible to it. A class becomes a
*stateful* node: ``<Cls>__Stateful_Node(DraftNode, Cls)``, whose instances get a shallow copy of
the class's non-callable attributes.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any, Literal, Unpack

from ...errors import NodeConfigurationError, NodeConfigurationWarning
from ..control.policy import ControlOptions, NodeOptions, checked_options, optional_ports
from .draft import DraftGroupNode, DraftNode, OriginalCall
from .ports import EMPTY

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep
_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _stream_in_names(stream_in: Iterable[str] | None, owner: str) -> list[str]:
    if stream_in is None:
        return []
    if isinstance(stream_in, str):  # flowno tested `name in "xs"`; read it as the one name meant
        _warn(
            f"@node(stream_in={stream_in!r}) on {owner}: stream_in takes a list of parameter names; "
            f"read as stream_in=[{stream_in!r}] (write it that way to silence this warning)"
        )
        return [stream_in]
    return list(stream_in)


def _check_stream_in(names: list[str], parameters: list[inspect.Parameter], owner: str) -> None:
    known = [p.name for p in parameters]
    for name in names:
        if name not in known:  # flowno ignored such names silently: keep running, but say so
            _warn(
                f"@node(stream_in=[...]) names {name!r}, but {owner} has no parameter {name!r} "
                f"(its parameters: {', '.join(known) or 'none'}); the name is ignored"
            )


def _warn(message: str) -> None:
    """Warn, attributing the warning to the user's decorator line (the first frame outside flowno_core)."""
    frame = sys._getframe(1)
    level = 2  # 1 would be _warn itself
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    warnings.warn(message, NodeConfigurationWarning, stacklevel=level)


def _is_async(func: Any) -> bool:
    """An ``async def`` function or async generator function (also behind ``functools.wraps``)."""
    inner = inspect.unwrap(func)
    return any(check(f) for f in (func, inner) for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction))


def _check_accumulate(accumulate: Any, owner: str) -> None:
    if accumulate is not None and not callable(accumulate):
        raise NodeConfigurationError(
            f"@node(accumulate=...) on {owner} must be a function (acc_tuple, chunk_tuple) -> tuple, got {accumulate!r}"
        )


def _code_of(function: Any) -> Any:
    code = getattr(function, "__code__", None)
    if code is None:
        code = DraftNode.call.__code__
    return code


def function_node(
    func: Callable[..., Any],
    stream_in: Iterable[str] | None,
    multiple_outputs: bool,
    accumulate: Any,
    control: NodeOptions | None = None,
    optional: Iterable[str] | None = None,
    offload: Any = None,
) -> type[DraftNode]:
    """The node class for an async function (or async generator function), or for a plain function
    with ``offload=``."""
    owner = getattr(func, "__name__", repr(func))
    names = _stream_in_names(stream_in, owner)
    _check_accumulate(accumulate, owner)
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())
    _check_stream_in(names, parameters, owner)
    if control and control.get("cache") and inspect.isasyncgenfunction(func):
        raise NodeConfigurationError(
            f"@node(cache=True) on {owner}: a streaming node (async generator) cannot be cached, its readers "
            "need its chunks; cache the node that computes from what it streams instead"
        )
    if offload is None and not _is_async(func):
        _warn(  # (it fails when it runs, as in flowno; say so where it is written)
            f"@node on {owner}: {owner} is a plain `def`, so the flow will fail when it runs it; write "
            f"`async def {owner}(...)`, or @node(offload=\"thread\") to run a blocking function on a worker thread"
        )
    user_function = func

    def call(self: DraftNode, *args: Any) -> Any:
        return user_function(*args)

    call.calls_wrapped = True  # type: ignore[attr-defined]  # (the runtime calls ``__wrapped__`` itself)
    if offload is not None:
        from .offload import offloaded_call  # (imported on first use: it loads the process pool's code)

        call = offloaded_call(func, offload, owner)

    namespace: dict[str, Any] = {
        "_minimum_run_level": [1 if p.name in names else 0 for p in parameters],
        "_default_values": {i: p.default for i, p in enumerate(parameters) if p.default is not EMPTY},
        "_original_call": OriginalCall(signature, _code_of(func), owner, None),
        "_single_output": not multiple_outputs,
        "_is_function_node": True,
        "_accumulate_fn": None if accumulate is None else staticmethod(accumulate),
        "_control": control,
        "_optional_ports": optional_ports(optional, parameters, names, owner),
        "_instance_counter": 0,
        "call": call,
        "__module__": getattr(func, "__module__", __name__),
        "__qualname__": getattr(func, "__qualname__", owner),
        "__doc__": getattr(func, "__doc__", None),
        "__wrapped__": func,
    }
    return type(owner, (DraftNode,), namespace)


def class_node(
    cls: type,
    stream_in: Iterable[str] | None,
    multiple_outputs: bool,
    accumulate: Any,
    control: NodeOptions | None = None,
    optional: Iterable[str] | None = None,
) -> type[DraftNode]:
    """The stateful node class for a class with ``async def call(self, ...)``."""
    owner = cls.__name__
    names = _stream_in_names(stream_in, owner)
    _check_accumulate(accumulate, owner)
    user_call = getattr(cls, "call", None)
    if user_call is None or not callable(user_call):
        raise NodeConfigurationError(f"@node class {owner} must define `async def call(self, ...)`")
    signature = inspect.signature(user_call)
    parameters = list(signature.parameters.values())
    for index, parameter in enumerate(parameters):
        if (index == 0) != (parameter.name == "self"):
            raise ValueError("First parameter must be 'self'")
    if not parameters:
        raise ValueError("First parameter must be 'self'")
    ports = [p for p in parameters[1:] if p.kind not in _SKIPPED_KINDS]
    _check_stream_in(names, ports, owner)
    if control and control.get("cache"):
        raise NodeConfigurationError(
            f"@node(cache=True) on class {owner}: a class node's result depends on its attributes, which "
            "the cache key does not cover; make it a function node to cache it"
        )
    initial_state: dict[str, Any] = {}
    for name in dir(cls):
        if name.startswith("__"):
            continue
        value = inspect.getattr_static(cls, name)
        if isinstance(value, (property, staticmethod, classmethod)) or callable(value):
            continue
        initial_state[name] = getattr(cls, name)

    def __init__(self: DraftNode, *args: Any, **kwargs: Any) -> None:
        for field, value in initial_state.items():
            setattr(self, field, value)
        DraftNode.__init__(self, *args, **kwargs)

    namespace: dict[str, Any] = {
        "__init__": __init__,
        "call": user_call,
        "_minimum_run_level": [1 if p.name in names else 0 for p in ports],
        "_default_values": {i: p.default for i, p in enumerate(ports) if p.default is not EMPTY},
        "_original_call": OriginalCall(signature, _code_of(user_call), getattr(user_call, "__name__", "call"), owner),
        "_single_output": not multiple_outputs,
        "_accumulate_fn": None if accumulate is None else staticmethod(accumulate),
        "_control": control,
        "_optional_ports": optional_ports(optional, ports, names, owner),
        "_display_name": owner,
        "_is_stateful_node": True,
        "_instance_counter": 0,
        "_initial_state": initial_state,
        "__module__": cls.__module__,
        "__doc__": cls.__doc__,
    }
    own_accumulate = getattr(cls, "accumulate_streamed_data", None)
    if own_accumulate is not None:
        namespace["accumulate_streamed_data"] = own_accumulate  # D6: the class's override wins
    return type(f"{owner}__Stateful_Node", (DraftNode, cls), namespace)


def template(func: Callable[..., Any]) -> type[DraftGroupNode]:
    """``@node.template``: a function ``(view, *inputs) -> node`` that builds a reusable sub-graph.

    Example::

        @node.template
        def AddThenDouble(view, x, y=1):
            view.total = Add(x, y)
            return Double(view.total)

        with FlowHDL() as f:
            f.result = AddThenDouble(f.source, 5)
    """
    owner = getattr(func, "__name__", repr(func))
    signature = inspect.signature(func)
    parameters = list(signature.parameters.values())[1:]
    namespace: dict[str, Any] = {
        "_minimum_run_level": [],
        "_default_values": {i: p.default for i, p in enumerate(parameters) if p.default is not EMPTY},
        "_original_call": OriginalCall(signature, _code_of(func), owner, None),
        "original_func": staticmethod(func),
        "_instance_counter": 0,
        "__module__": getattr(func, "__module__", __name__),
        "__doc__": getattr(func, "__doc__", None),
    }
    return type(owner, (DraftGroupNode,), namespace)


class NodeDecorator:
    """``@node``, ``@node(stream_in=[...], multiple_outputs=..., accumulate=..., <run control>)`` and
    ``@node.template``.

    Run-control options (each also settable for a whole flow on ``FlowHDL(...)``; the node's wins):
    ``retries``, ``retry_delay``, ``retry_backoff``, ``retry_max_delay``, ``retry_jitter``,
    ``retry_on``, ``timeout``, ``chunk_timeout``, ``on_error`` ("stop", "continue", "skip"),
    ``critical``, ``cache``, ``priority`` ("high", "normal", "low"); and ``optional=[names]``: ports
    that take their default when their producer fails or is skipped. See docs/run-control.md.

    Example::

        @node
        async def Add(x: int, y: int = 1) -> int:
            return x + y

        @node(stream_in=["tokens"])
        async def Upper(tokens: Stream[str]):
            async for token in tokens:
                yield token.upper()

        @node
        class Counter:
            count = 0
            async def call(self, tick):
                self.count += 1
                return self.count
    """

    template = staticmethod(template)

    def __call__(
        self,
        func_or_cls: Any = None,
        /,
        *,
        stream_in: Iterable[str] | None = None,
        multiple_outputs: bool = False,
        accumulate: Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]] | None = None,
        optional: Iterable[str] | None = None,
        offload: Literal["thread", "process"] | Any = None,
        **control: Unpack[ControlOptions],
    ) -> Any:
        def decorate(target: Any) -> type[DraftNode]:
            owner = getattr(target, "__name__", repr(target))
            options = checked_options(f"@node {owner}", **control) or None
            if isinstance(target, type):
                if offload is not None:
                    raise NodeConfigurationError(
                        f"@node(offload={offload!r}) on class {owner}: offload applies to a plain `def` function node"
                    )
                return class_node(target, stream_in, multiple_outputs, accumulate, options, optional)
            if not callable(target):
                raise NodeConfigurationError(f"@node decorates an async function or a class, not {target!r}")
            return function_node(target, stream_in, multiple_outputs, accumulate, options, optional, offload)

        if func_or_cls is None:
            return decorate
        return decorate(func_or_cls)

    def __repr__(self) -> str:
        return "<flowno_core.node decorator>"


node = NodeDecorator()
