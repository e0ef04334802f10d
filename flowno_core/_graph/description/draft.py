"""Draft nodes: what calling a decorated node class creates inside a ``FlowHDL`` block.

Theory of operation: a draft records its input ports (run level, default, what they connect to)
and which drafts consume its outputs. Each positional argument becomes a connection: a draft node
(its output 0), an output ref, a placeholder (a forward reference, resolved when the outermost
block exits), or anything else, wrapped in a hidden ``Constant`` node. A draft registers itself
with the innermost open view *before* its arguments are processed, so ``Add(1, 2)`` is created
before its two constants (definition order, D1). Drafts never run; ``namespace.py`` turns them
into finalized nodes.

Typing: as in flowno, ``DraftNode`` is generic over its input types and its output tuple
(``DraftNode[int, str, tuple[int]]``; ``DraftNode[int]`` is a node without inputs), so annotations
such as ``-> DraftNode[int]`` evaluate at run time and ``class Inc(DraftNode[int, tuple[int]])``
works. ``Generic`` adds no per-instance work (no ``__new__``, plain ``type`` metaclass, so
``isinstance`` stays fast). ``call`` is abstract, as in flowno: a subclass without it cannot be
instantiated (``__init_subclass__`` sets ``__abstractmethods__``, which ``object.__new__`` checks;
no ``ABCMeta``).
"""

from __future__ import annotations

import inspect
import itertools
import logging
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple, TypeVar, TypeVarTuple, Unpack

from ..rules.accumulate import combine_pair
from .arguments import keyword_error
from .ports import EMPTY, InputPortIndex, NodePlaceholder, Output, OutputPortIndex, OutputPortRefPlaceholder
from .view_stack import innermost_view, register_draft

if TYPE_CHECKING:
    from ..control.policy import NodeOptions

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
#: the input types of a node (flowno's ``_Ts``)
Ts = TypeVarTuple("Ts")
#: the output tuple of a node (flowno's ``ReturnTupleT_co``)
ReturnTupleT_co = TypeVar("ReturnTupleT_co", covariant=True, bound=tuple[object, ...])

logger = logging.getLogger(__name__)

_creation_order = itertools.count()


class OriginalCall(NamedTuple):
    """Where a node's code comes from (for error messages): signature, code object, names."""

    call_signature: inspect.Signature
    call_code: CodeType
    func_name: str
    class_name: str | None = None

    @property
    def signature(self) -> inspect.Signature:
        return self.call_signature

    @property
    def filename(self) -> str:
        return self.call_code.co_filename

    @property
    def lineno(self) -> int:
        return self.call_code.co_firstlineno


def original_call_of(cls: type) -> OriginalCall:
    """The class's ``_original_call``, derived from its ``call`` method when not declared."""
    declared = cls.__dict__.get("_original_call") or getattr(cls, "_original_call", None)
    if declared is not None:
        return declared  # type: ignore[no-any-return]
    call = getattr(cls, "call")
    code = getattr(call, "__code__", None) or DraftNode.call.__code__
    signature = inspect.signature(call)
    return OriginalCall(signature, code, getattr(call, "__name__", "call"), cls.__name__)


def _defaults_from_signature(call: Callable[..., Any]) -> dict[int, Any]:
    """Defaults of ``call``'s parameters by position (for subclasses without ``_default_values``)."""
    try:
        parameters = list(inspect.signature(call).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return {}
    return {
        index: parameter.default
        for index, parameter in enumerate(parameters)
        if parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and parameter.default is not EMPTY
    }


@dataclass
class DraftOutputPortRef(Output[T_co]):
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


@dataclass(eq=False)
class DraftInputPort(Generic[T]):
    """One input of a draft node: what it is connected to, its run level and its default."""

    connected_output: "DraftOutputPortRef[T] | OutputPortRefPlaceholder[T] | None" = None
    minimum_run_level: int = 0
    default_value: Any = EMPTY

    @property
    def has_default(self) -> bool:
        return self.default_value is not EMPTY


class DraftNode(Output[Any], Generic[Unpack[Ts], ReturnTupleT_co]):
    """Base class of every connectable node description.

    Generic, as in flowno, over the input types and the output tuple: ``DraftNode[int, tuple[int]]``
    takes an int and produces ``(int,)``.

    Use the ``@node`` decorator; subclass DraftNode by hand only for special nodes (then override
    ``call(self, *args)`` returning a coroutine or async generator of *tuples*, and set
    ``_minimum_run_level``; ``_default_values`` and ``_original_call`` are optional). A subclass
    that does not define ``call`` cannot be instantiated (``TypeError``, as in flowno).

    Example::

        @node
        async def Add(a: int, b: int = 1) -> int:
            return a + b

        class Increment(DraftNode[int, tuple[int]]):
            _minimum_run_level = [0]

            async def call(self, x: int = 0) -> tuple[int]:
                return (x + 1,)

        with FlowHDL() as f:
            f.total = Add(2, f.total)      # a draft node; f.total is finalized at block exit
            f.next = Increment(f.total)
    """

    _minimum_run_level: ClassVar[list[int]] = []
    _default_values: ClassVar[dict[int, Any]] = {}
    _instance_counter: ClassVar[int] = 0
    #: name shown in reprs and messages (the function or user class name)
    _display_name: ClassVar[str | None] = None
    #: True for @node single-output nodes: results and chunks are wrapped in a 1-tuple
    _single_output: ClassVar[bool] = False
    #: True for @node functions (a non-async function then gets flowno's TypeError message)
    _is_function_node: ClassVar[bool] = False
    #: True for @node classes (flowno's message for a non-async ``call`` differs per kind of node)
    _is_stateful_node: ClassVar[bool] = False
    #: ``@node(accumulate=fn)``: replaces the built-in accumulation of streamed chunks
    _accumulate_fn: ClassVar[Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]] | None] = None
    #: ``@node(retries=..., timeout=..., on_error=..., ...)``: run control (None: nothing set)
    _control: ClassVar[NodeOptions | None] = None
    #: ``@node(optional=[...])``: ports that take their default when their producer fails or is skipped
    _optional_ports: ClassVar[frozenset[int]] = frozenset()

    #: defaults read from ``call``'s signature (cached per class when ``_default_values`` is empty)
    _signature_defaults: ClassVar[dict[int, Any]]
    _original_call: ClassVar[OriginalCall]

    _instance_id: int
    #: the attribute of its FlowHDL block the node was first assigned to (see ``naming``)
    _user_name: str | None = None
    #: the template call (a ``DraftGroupNode``) whose body created the node, for pictures
    _group: "DraftGroupNode | None" = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.call is DraftNode.call:  # flowno's DraftNode is an ABC with an abstract `call`
            setattr(cls, "__abstractmethods__", _ABSTRACT_CALL)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs:
            cls = type(self)
            raise keyword_error(cls._name(), getattr(cls, "_original_call", None), kwargs)
        self._instance_id = self.increment_instance_counter()
        self._creation_index = next(_creation_order)
        self._input_ports: dict[InputPortIndex, DraftInputPort[Any]] = {}
        self._connected_output_nodes: dict[OutputPortIndex, list[DraftNode]] = {}
        levels = list(self._minimum_run_level)
        for index in range(max(len(args), len(levels))):
            port: DraftInputPort[Any] = DraftInputPort()
            port.minimum_run_level = levels[index] if index < len(levels) else 0
            self._input_ports[InputPortIndex(index)] = port
        register_draft(self)
        for index, arg in enumerate(args):
            self._connect_argument(InputPortIndex(index), arg)
        self._apply_defaults()

    # -- construction helpers ---------------------------------------------------------------------
    def _connect_argument(self, index: InputPortIndex, arg: Any) -> None:
        target: DraftInputPortRef[Any] = DraftInputPortRef(self, index)
        if isinstance(arg, DraftNode):
            arg.output(0).connect(target)
        elif isinstance(arg, DraftOutputPortRef):
            arg.connect(target)
        elif isinstance(arg, NodePlaceholder):
            self._input_ports[index].connected_output = arg.output(0)
        elif isinstance(arg, OutputPortRefPlaceholder):
            self._input_ports[index].connected_output = arg
        else:
            Constant(arg).output(0).connect(target)

    def _apply_defaults(self) -> None:
        cls = type(self)
        defaults = cls._default_values or cls.__dict__.get("_signature_defaults")
        if defaults is None:
            defaults = cls._signature_defaults = _defaults_from_signature(self.call)
        for index, value in defaults.items():
            self._port(InputPortIndex(index)).default_value = value

    def _port(self, index: InputPortIndex) -> DraftInputPort[Any]:
        port = self._input_ports.get(index)
        if port is None:
            port = self._input_ports[index] = DraftInputPort()
        return port

    def increment_instance_counter(self) -> int:
        cls = type(self)
        count = cls._instance_counter
        cls._instance_counter = count + 1
        return count

    # -- public API -------------------------------------------------------------------------------
    def output(self, output_port: int) -> DraftOutputPortRef[Any]:
        """A reference to output ``output_port`` (to pass as an argument to another node)."""
        return DraftOutputPortRef(self, OutputPortIndex(output_port))

    def input(self, port_index: int) -> DraftInputPortRef[Any]:
        return DraftInputPortRef(self, InputPortIndex(port_index))

    @abstractmethod
    def call(self, *args: Any) -> Any:
        """The node's body: return a coroutine (one result) or an async generator (a stream).

        Abstract: every concrete node class defines it (``@node`` does it for you).
        """
        raise NotImplementedError(f"{self!r} does not implement call()")

    @classmethod
    def _is_generator_node(cls) -> bool:
        """Whether the node's code is an async generator function (it streams), as far as its code
        object tells (a hand-written ``call`` returning a generator is only known when called)."""
        code = getattr(cls, "_original_call", None)
        return code is not None and bool(code.call_code.co_flags & inspect.CO_ASYNC_GENERATOR)

    def accumulate_streamed_data(self, accumulator: tuple[Any, ...], partial: tuple[Any, ...]) -> tuple[Any, ...]:
        """Combine the accumulated final value with one more chunk (override to customise).

        The built-in rule (used when this method is not overridden) sums numbers, concatenates
        str, bytes, lists and tuples, and otherwise collects the chunks in a list.
        """
        return combine_pair(accumulator, partial)

    def get_data(self, run_level: int = 0) -> Any:
        raise NotImplementedError("draft nodes hold no data; read the finalized node after the FlowHDL block")

    def get_output_nodes(self) -> list[DraftNode]:
        return [consumer for consumers in self._connected_output_nodes.values() for consumer in consumers]

    #: the class of finalized nodes: set by finalized.py, which builds on this module
    _finalized_class: ClassVar[type[Any]]

    def _blank_finalized(self) -> Any:
        """A finalized node for this draft, without connections (as flowno's ``_blank_finalized``).

        Lets a single node run in a hand-built ``Flow`` (``flow.add_node(Main()._blank_finalized())``)
        or have its stored data exercised directly (``push_data``/``get_data``).
        """
        return self._finalized_class(self)

    def get_input_nodes(self) -> list[DraftNode]:
        nodes: list[DraftNode] = []
        for port in self._input_ports.values():
            connected = port.connected_output
            if isinstance(connected, DraftOutputPortRef):
                nodes.append(connected.node)
        return nodes

    @classmethod
    def _name(cls) -> str:
        return cls._display_name or cls.__name__

    def __repr__(self) -> str:
        return f"{self._name()}#{self._instance_id}"


_ABSTRACT_CALL = frozenset({"call"})
setattr(DraftNode, "__abstractmethods__", _ABSTRACT_CALL)  # `DraftNode()` itself is refused, as in flowno


class Constant(DraftNode[Unpack[tuple[()]], tuple[T]]):
    """The hidden node that feeds a non-node argument (``Add(1, f.x)`` creates ``Constant(1)``)."""

    _minimum_run_level: ClassVar[list[int]] = []
    _default_values: ClassVar[dict[int, Any]] = {}

    def __init__(self, value: T) -> None:
        self.value = value
        super().__init__()

    async def call(self) -> tuple[T]:
        return (self.value,)

    def __repr__(self) -> str:
        return f"Constant#{self._instance_id}"


Constant._original_call = OriginalCall(
    inspect.signature(Constant.call), Constant.call.__code__, "call", "Constant"
)


class DraftGroupNode(DraftNode[Unpack[Ts], tuple[Any, ...]]):
    """A template instance (``@node.template``): a draft whose body builds a sub-graph.

    Calling it runs the template at once inside a nested view and records the node it returns;
    at finalization every use of the group is redirected to that node, so no trace of the group
    remains at run time.
    """

    original_func: ClassVar[Callable[..., Any]]
    _return_node: DraftNode

    def __init__(self, *args: Any) -> None:
        parent = innermost_view()
        if parent is None:
            raise RuntimeError(
                "A group node must be defined within a FlowHDL context: "
                f"template {self._name()} was called outside a FlowHDL block; "
                "call it inside `with FlowHDL() as f:` (or inside another template)"
            )
        registered_before = len(parent._drafts)
        super().__init__(*args)
        try:
            self._build_body(parent, args)
        except BaseException:
            del parent._drafts[registered_before:]  # the failed group and its argument constants
            raise

    def _build_body(self, parent: Any, args: tuple[Any, ...]) -> None:
        with parent._open_template_view() as sub_view:
            returned = type(self).original_func(sub_view, *args)
            if returned is None:
                raise TypeError(
                    f"template {self._name()} returned None; it must return the node that represents "
                    "the group's output (did you forget a `return`?)"
                )
            if isinstance(returned, (DraftOutputPortRef, NodePlaceholder, OutputPortRefPlaceholder)):
                raise TypeError(
                    f"template {self._name()} returned {returned!r}; return a node (not a port reference "
                    "or a forward reference)"
                )
            if not isinstance(returned, DraftNode):
                returned = Constant(returned)
            self._return_node = returned
            for draft in sub_view._drafts:  # (nodes of an inner template already name theirs)
                if draft._group is None:
                    draft._group = self

    async def call(self, *args: Any) -> Any:
        raise RuntimeError("Group nodes do not run")
