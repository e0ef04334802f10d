"""FlowHDLView: the namespace in which a flow is described (``FlowHDL`` adds the flow to it).

Theory of operation: inside ``with FlowHDL() as f:`` public attribute writes go into a namespace
dict; reading a name that is not defined yet returns a ``NodePlaceholder`` (a forward reference).
Every draft node created while a view is open registers with the innermost view. A nested view
(the body of a template) resolves, when it exits, the forward references to names it defines
itself, checks its nodes' unconnected inputs, and hands everything else (its names, its drafts,
its unresolved forward references) to its parent. When the outermost view exits, finalization
runs once: groups are replaced by the node they return, forward references are resolved by name,
unconnected inputs without defaults are reported, finalized nodes are created in creation order
and registered with the flow, connections are copied, and namespace entries are replaced by the
finalized nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from .draft import DraftGroupNode, DraftInputPortRef, DraftNode, DraftOutputPortRef, original_call_of
from .finalized import FinalizedNode
from .naming import node_label
from .ports import InputPortIndex, NodePlaceholder, Output, OutputPortRefPlaceholder
from .view_stack import innermost_view, register_draft, view_stack


class FlowHDLView:
    """The namespace protocol of ``FlowHDL`` without a flow (templates receive one).

    Public attribute writes define nodes; reading an undefined name inside the block returns a
    ``NodePlaceholder`` (forward reference). Names starting with ``_`` are ordinary attributes.
    """

    KEYWORDS: ClassVar[list[str]] = ["register_child_result"]
    #: methods a node of the same name shadows (names code written for flowno may use for nodes);
    #: reachable once the block is finalized
    METHODS: ClassVar[tuple[str, ...]] = ()
    #: a view that is a flow of its own (``FlowHDL``) is finalized on its own, even inside another block
    _is_flow: ClassVar[bool] = False

    def __init__(self, on_register_finalized_node: Callable[[FinalizedNode], None]) -> None:
        self._is_finalized = False
        self._nodes: dict[str, Any] = {}
        self._drafts: list[DraftNode] = []
        self._on_register_finalized_node = on_register_finalized_node

    # -- namespace protocol -----------------------------------------------------------------------
    # For type checkers a name holds an ``Output``: ``f.x = Node(...)`` narrows ``f.x`` to what the
    # node produces, and a forward reference fits any input.
    def __setattr__(self, key: str, value: Output[Any]) -> None:
        if key.startswith("_") and key not in type(self).KEYWORDS:
            object.__setattr__(self, key, value)
        else:
            self._nodes[key] = value
            if isinstance(value, DraftNode) and value._user_name is None:
                value._user_name = key  # how messages and pictures name it (``naming``)

    if not TYPE_CHECKING:  # hidden from type checkers, which then type ``f.name`` by __getattr__

        def __getattribute__(self, key: str) -> Any:
            if key.startswith("_") or key in type(self).KEYWORDS:
                return object.__getattribute__(self, key)
            nodes = object.__getattribute__(self, "_nodes")
            if key in nodes:
                return nodes[key]
            if key in type(self).METHODS and object.__getattribute__(self, "_is_finalized"):
                return object.__getattribute__(self, key)
            raise AttributeError(f'Attribute "{key}" not found')

    def __getattr__(self, key: str) -> Output[Any]:
        if key.startswith("_") or object.__getattribute__(self, "_is_finalized"):
            raise AttributeError(f'Attribute "{key}" not found')
        return NodePlaceholder(key)

    @classmethod
    def register_node(cls, node: DraftNode) -> None:
        """Register a draft with the innermost open block (flowno's hook; ``DraftNode()`` already does it).

        Outside any block the node is only reported with a warning, as in flowno.
        """
        register_draft(node)

    def register_child_result(self, child: "FlowHDLView") -> None:
        """Take over a finished nested view's names and drafts (names leak upward, last wins)."""
        self._nodes.update(child._nodes)
        self._drafts.extend(child._drafts)

    def _register_draft(self, node: DraftNode) -> None:
        self._drafts.append(node)

    def _open_template_view(self) -> "FlowHDLView":
        """A nested view for a template's body; use it in a ``with`` block (its nodes reach this flow)."""
        return FlowHDLView(self._on_register_finalized_node)

    # -- context management -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        view_stack().append(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> Literal[False]:
        stack = view_stack()
        while stack and stack[-1] is not self:  # an inner view left open by an exception
            stack.pop()
        if stack:
            stack.pop()
        if exc_type is not None:
            return False
        parent = innermost_view()
        if parent is not None and not self._is_flow:
            self._close_nested()
            parent.register_child_result(self)
        else:  # the outermost block, or a flow of its own opened inside another's block
            self._finalize()
        return False

    # -- finalization -----------------------------------------------------------------------------
    def _close_nested(self) -> None:
        """A template body ends: resolve its own forward references, check its inputs."""
        for draft in self._drafts:
            for index, port in draft._input_ports.items():
                connected = port.connected_output
                if isinstance(connected, OutputPortRefPlaceholder) and connected.node.name in self._nodes:
                    self._resolve_placeholder(draft, index, connected)
                elif connected is None and not port.has_default:
                    raise _unconnected_error(draft, index)

    def _resolve_placeholder(
        self, draft: DraftNode, index: InputPortIndex, placeholder: OutputPortRefPlaceholder[Any]
    ) -> None:
        name = placeholder.node.name
        if name not in self._nodes:
            error = AttributeError(
                f"Node {name} is referenced, but has not been defined. "
                f"Cannot connect {draft!r}.input({index}) to non-existent node {name}"
            )
            error.add_note(f"hint: define it inside the block, e.g. `f.{name} = SomeNode(...)`, or fix the spelling")
            raise error
        target = self._nodes[name]
        if not isinstance(target, DraftNode):
            error = AttributeError(
                f"Attribute {name} is not a DraftNode. Cannot connect {draft!r} to non-DraftNode {name} "
                f"(it holds {type(target).__name__} {target!r})"
            )
            error.add_note(f"hint: assign a node to f.{name}, or pass the value directly as an argument")
            raise error
        target.output(placeholder.port_index).connect(DraftInputPortRef(draft, index))

    def _finalize(self) -> None:
        drafts = sorted(self._drafts, key=lambda draft: draft._creation_index)
        # forward references and unconnected inputs, node by node, port by port
        for draft in drafts:
            for index in sorted(draft._input_ports):
                port = draft._input_ports[index]
                connected = port.connected_output
                if connected is None:
                    if not port.has_default:
                        raise _unconnected_error(draft, index)
                elif isinstance(connected, OutputPortRefPlaceholder):
                    self._resolve_placeholder(draft, index, connected)
        aliases = _group_aliases(drafts)
        _redirect_group_connections(drafts, aliases)
        real_drafts = [draft for draft in drafts if not isinstance(draft, DraftGroupNode)]
        _check_all_inside(real_drafts)
        finalized: dict[DraftNode, FinalizedNode] = {}
        for draft in real_drafts:
            node = FinalizedNode(draft)
            finalized[draft] = node
            self._on_register_finalized_node(node)
        for draft in real_drafts:
            finalized[draft]._finalize_connections(finalized)
        for name, value in list(self._nodes.items()):
            if isinstance(value, DraftNode):
                target = aliases.get(value, value) if isinstance(value, DraftGroupNode) else value
                if target in finalized:
                    self._nodes[name] = finalized[target]
                    if value is not target and value._user_name is not None:
                        target._user_name = value._user_name  # a template's result is named where it is used
        self._drafts = []
        self._is_finalized = True


def _check_all_inside(drafts: list[DraftNode]) -> None:
    """Every producer must have been created inside this block (or one of its templates)."""
    inside = set(map(id, drafts))
    for draft in drafts:
        for index, port in sorted(draft._input_ports.items()):
            connected = port.connected_output
            if isinstance(connected, DraftOutputPortRef) and id(connected.node) not in inside:
                raise ValueError(
                    f"{draft!r}.input({index}) is connected to {connected.node!r}, which was created outside this "
                    "FlowHDL block (a node made outside any block is never finalized); create it inside the "
                    "`with FlowHDL() as f:` block"
                )


def _unconnected_error(draft: DraftNode, index: InputPortIndex) -> AttributeError:
    error = AttributeError(f"{draft!r}.input({index}) is not connected and has no default value")
    parameter = _parameter_name(draft, index)
    error.add_note(
        f"hint: pass an argument for {parameter!s} when creating {node_label(draft)}, or give that parameter a "
        "default value"
    )
    return error


def _parameter_name(draft: DraftNode, index: int) -> str:
    try:
        parameters = [
            p for p in original_call_of(type(draft)).signature.parameters.values() if p.name != "self"
        ]
        return f"parameter '{parameters[index].name}'"
    except (IndexError, AttributeError, TypeError, ValueError):
        return f"input {index}"


def _group_aliases(drafts: list[DraftNode]) -> dict[DraftNode, DraftNode]:
    aliases: dict[DraftNode, DraftNode] = {}
    for draft in drafts:
        if isinstance(draft, DraftGroupNode):
            target: DraftNode = draft
            seen = set()
            while isinstance(target, DraftGroupNode):
                if target in seen:  # pragma: no cover - a template cannot return itself
                    raise RuntimeError(f"template {draft!r} returns itself")
                seen.add(target)
                target = target._return_node
            aliases[draft] = target
    return aliases


def _redirect_group_connections(drafts: list[DraftNode], aliases: dict[DraftNode, DraftNode]) -> None:
    if not aliases:
        return
    for draft in drafts:
        for index, port in draft._input_ports.items():
            connected = port.connected_output
            if isinstance(connected, DraftOutputPortRef) and connected.node in aliases:
                group = connected.node
                target = aliases[group]
                consumers = group._connected_output_nodes.get(connected.port_index, [])
                if draft in consumers:
                    consumers.remove(draft)
                port.connected_output = DraftOutputPortRef(target, connected.port_index)
                target._connected_output_nodes.setdefault(connected.port_index, []).append(draft)
    for draft in drafts:
        for port_index, consumers in draft._connected_output_nodes.items():
            draft._connected_output_nodes[port_index] = [c for c in consumers if not isinstance(c, DraftGroupNode)]
