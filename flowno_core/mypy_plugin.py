"""A mypy plugin for ``@node`` on classes: enable it with ``plugins = flowno_core.mypy_plugin``.

Theory of operation: mypy does not apply what a class decorator returns, so for ``@node class
Counter`` with ``async def call(self, value: str)`` it checks ``Counter(f.parts)`` against the
class's own ``__init__`` (no arguments) and reports "Too many arguments". The plugin gives every
class decorated with flowno_core's ``node`` an ``__init__`` taking the parameters of its ``call``
(without ``self``), so the wiring is checked like a function node's: a node or a forward reference
(typed ``Any``) fits any parameter, a wrong literal is reported. pyright applies the decorator
itself and needs no plugin.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import ARG_STAR, Argument, FuncDef, Var
from mypy.plugin import ClassDefContext, Plugin
from mypy.plugins.common import add_method_to_class
from mypy.types import AnyType, CallableType, NoneType, TypeOfAny

#: how the decorator is named when mypy resolves ``@node`` and ``@node(...)``
_DECORATORS = ("flowno_core.node", "flowno_core._graph.description.decorator.node")


class NodeClassPlugin(Plugin):
    def get_class_decorator_hook_2(self, fullname: str) -> Callable[[ClassDefContext], bool] | None:
        if fullname in _DECORATORS or fullname.startswith("flowno_core._graph.description.decorator.NodeDecorator"):
            return _give_init
        return None


def _give_init(ctx: ClassDefContext) -> bool:
    info = ctx.cls.info
    if "__init__" in info.names and getattr(info.names["__init__"], "plugin_generated", False):
        return True
    symbol = info.names.get("call")
    call = symbol.node if symbol is not None else None
    signature = call.type if isinstance(call, FuncDef) else None
    if not isinstance(signature, CallableType):
        if call is not None and signature is None:
            return False  # not analysed yet: mypy calls the hook again
        arguments = [Argument(Var("args"), AnyType(TypeOfAny.explicit), None, ARG_STAR)]
    else:
        arguments = [
            Argument(Var(name or f"arg{index}"), type_, None, kind)
            for index, (name, type_, kind) in enumerate(
                zip(signature.arg_names[1:], signature.arg_types[1:], signature.arg_kinds[1:])
            )
        ]
    add_method_to_class(ctx.api, ctx.cls, "__init__", arguments, NoneType())
    return True


def plugin(version: str) -> type[Plugin]:
    return NodeClassPlugin
