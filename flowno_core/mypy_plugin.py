"""A mypy plugin for ``@node`` on classes: enable it with ``plugins = flowno_core.mypy_plugin``.

Theory of operation: mypy does not apply what a class decorator returns, so for ``@node class
Counter`` with ``async def call(self, value: str) -> int`` it would check ``Counter(f.parts)``
against the class's own ``__init__`` (no arguments) and type the result as a ``Counter``. The
plugin makes a decorated class look like what ``@node`` makes of a function (flowno_core's
``_node_types``): its constructor takes ``call``'s parameters by position, each an ``A`` or an
``Output[A]``, all optional (a missing input is reported when the block ends), and a call gives
an ``Output[R]``, or a ``StreamOutput[R]`` when ``call`` is an async generator of ``R`` chunks.
It also types generic node functions: mypy solves the type variables of
``async def Last(items: Stream[T]) -> T`` against the decorator's protocols as ``Never``, which
would reject every argument; the plugin types such a node by the function's own parameter and
return types, with its type variables ``Any``. pyright applies the decorator itself and needs no
plugin.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.erasetype import erase_typevars
from mypy.nodes import ARG_OPT, ARG_STAR, ArgKind, Argument, CallExpr, Expression, FuncDef, NameExpr, TypeInfo, Var
from mypy.plugin import ClassDefContext, FunctionContext, MethodContext, Plugin
from mypy.plugins.common import add_method_to_class
from mypy.type_visitor import TypeTranslator
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    NoneType,
    Type,
    TypeAliasType,
    TypeOfAny,
    UninhabitedType,
    UnionType,
    get_proper_type,
)

#: how the decorator is named when mypy resolves ``@node`` and ``@node(...)``
_DECORATORS = ("flowno_core.node", "flowno_core._graph.description.decorator.node")
_OUTPUT = "flowno_core._graph.description.ports.Output"
_STREAM_OUTPUT = "flowno_core._graph.description.ports.StreamOutput"
_MARK = "flowno_core.node"
#: a class node of more inputs is not checked argument by argument, as for pyright (the arity the
#: generated node types go up to: tools/generate_node_types.py MAX_ARITY)
MAX_CHECKED_INPUTS = 8
_STREAMING_RESULTS = ("typing.AsyncIterator", "typing.AsyncGenerator", "collections.abc.AsyncIterator",
                      "collections.abc.AsyncGenerator")


def _is_typed_decorator_call(fullname: str) -> bool:
    """A call of one of the decorator protocols of ``_node_types`` (``@node``, ``@node(...)``)."""
    return fullname.startswith("flowno_core._node_types.") and fullname.endswith(".__call__")


class NodeClassPlugin(Plugin):
    def get_class_decorator_hook_2(self, fullname: str) -> Callable[[ClassDefContext], bool] | None:
        if fullname in _DECORATORS or _is_typed_decorator_call(fullname):  # ``@node``, ``@node(...)``
            return _give_init
        return None

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        if _is_typed_decorator_call(fullname):
            return _generic_inputs_as_any
        return None

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        symbol = self.lookup_fully_qualified(fullname)
        if symbol is not None and isinstance(symbol.node, TypeInfo) and _MARK in symbol.node.metadata:
            return self._node_output
        return None

    def _node_output(self, ctx: FunctionContext) -> Type:
        """``Counter(...)`` gives an ``Output`` of what ``call`` returns (a ``StreamOutput`` of its chunks)."""
        result = get_proper_type(ctx.default_return_type)
        if not isinstance(result, Instance):
            return ctx.default_return_type
        if result.type.metadata.get(_MARK, {}).get("multiple_outputs"):
            return self._instance(_OUTPUT, AnyType(TypeOfAny.special_form), ctx)
        call = _call(result.type)
        returned = get_proper_type(call.type.ret_type) if call is not None and isinstance(call.type, CallableType) else None
        if isinstance(returned, Instance) and returned.type.fullname in _STREAMING_RESULTS and returned.args:
            return self._instance(_STREAM_OUTPUT, returned.args[0], ctx)
        if isinstance(returned, Instance) and returned.type.fullname == "typing.Coroutine" and len(returned.args) == 3:
            return self._instance(_OUTPUT, returned.args[2], ctx)
        return self._instance(_OUTPUT, AnyType(TypeOfAny.special_form), ctx)

    def _instance(self, fullname: str, argument: Type, ctx: FunctionContext) -> Type:
        symbol = self.lookup_fully_qualified(fullname)
        if symbol is None or not isinstance(symbol.node, TypeInfo):
            return ctx.default_return_type
        return Instance(symbol.node, [argument])


def _call(info: TypeInfo) -> FuncDef | None:
    symbol = info.names.get("call")
    return symbol.node if symbol is not None and isinstance(symbol.node, FuncDef) else None


def _call_inputs(call: FuncDef) -> list[tuple[str, Type, ArgKind]]:
    """``call``'s parameters after ``self``; ``Any`` where unannotated (mypy keeps no type then)."""
    if isinstance(call.type, CallableType):
        signature = call.type
        return [
            (name or f"arg{index}", type_, kind)
            for index, (name, type_, kind) in enumerate(
                zip(signature.arg_names[1:], signature.arg_types[1:], signature.arg_kinds[1:])
            )
        ]
    return [(argument.variable.name, AnyType(TypeOfAny.unannotated), argument.kind) for argument in call.arguments[1:]]


def _give_init(ctx: ClassDefContext) -> bool:
    info = ctx.cls.info
    if _MARK in info.metadata:
        return True
    call = _call(info)
    inputs = _call_inputs(call) if call is not None else None
    if inputs is None or len(inputs) > MAX_CHECKED_INPUTS or any(kind == ARG_STAR for _, _, kind in inputs):
        arguments = [Argument(Var("args"), AnyType(TypeOfAny.explicit), None, ARG_STAR)]
    else:
        arguments = [
            Argument(Var(name), UnionType([type_, ctx.api.named_type(_OUTPUT, [type_])]), None, ARG_OPT, pos_only=True)
            for name, type_, _ in inputs
        ]
    add_method_to_class(ctx.api, ctx.cls, "__init__", arguments, NoneType())
    info.metadata[_MARK] = {"multiple_outputs": _has_multiple_outputs(ctx.reason)}
    return True


def _has_multiple_outputs(decorator: Expression) -> bool:
    """``@node(multiple_outputs=True)``: its outputs are ``node.output(k)``, typed ``Any``."""
    if not isinstance(decorator, CallExpr):
        return False
    for name, value in zip(decorator.arg_names, decorator.args):
        if name == "multiple_outputs":
            return not (isinstance(value, NameExpr) and value.fullname == "builtins.False")
    return False


class _NeverAsAny(TypeTranslator):
    def visit_uninhabited_type(self, t: UninhabitedType) -> Type:
        return AnyType(TypeOfAny.special_form)

    def visit_type_alias_type(self, t: TypeAliasType) -> Type:
        return t.copy_modified(args=[argument.accept(self) for argument in t.args])


def _generic_inputs_as_any(ctx: MethodContext) -> Type:
    """``@node`` on a generic function: the node's types are the function's, its type variables ``Any``."""
    decorated = [get_proper_type(type_) for types in ctx.arg_types for type_ in types]
    function = next((t for t in decorated if isinstance(t, CallableType) and t.variables), None)
    node_type = get_proper_type(ctx.default_return_type)
    if function is None or not isinstance(node_type, Instance) or not node_type.args:
        return ctx.default_return_type
    erased = erase_typevars(function)
    assert isinstance(erased, CallableType)
    output = get_proper_type(node_type.args[-1])
    inputs = erased.arg_types[: len(node_type.args) - 1]
    if len(inputs) != len(node_type.args) - 1 or not isinstance(output, Instance) or len(output.args) != 1:
        return ctx.default_return_type.accept(_NeverAsAny())
    returned = get_proper_type(erased.ret_type)
    value: Type = erased.ret_type  # a plain function (offload)
    if isinstance(returned, Instance) and returned.type.fullname == "typing.Coroutine" and len(returned.args) == 3:
        value = returned.args[2]
    elif isinstance(returned, Instance) and returned.type.fullname in _STREAMING_RESULTS and returned.args:
        value = returned.args[0]
    return node_type.copy_modified(args=[*inputs, output.copy_modified(args=[value])])


def plugin(version: str) -> type[Plugin]:
    return NodeClassPlugin
