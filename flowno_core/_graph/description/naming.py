"""How messages, pictures and traces name a node: as the user wrote it.

Theory of operation: inside ``with FlowHDL() as f:`` the first attribute a node is assigned to
(``f.bad_avg = Average(...)``) becomes its *user name*; the namespace records it on the draft node
(``_user_name``), and the finalized node reads it from its draft. ``node_label`` gives
``bad_avg (Average)``: the name the user wrote, then the class as a second word. A node that was
never assigned (an inline ``Average(f.x)``, a hidden constant) keeps ``Average#1``, the name
flowno gave every node (``repr`` of a node stays that, as in flowno). ``port_label`` names an input
port by its parameter when the node's function has one.
"""

from __future__ import annotations

import inspect
from typing import Any


def user_name(node: Any) -> str | None:
    """The attribute the node was first assigned to in its FlowHDL block, or None."""
    draft = getattr(node, "_draft_node", node)
    return getattr(draft, "_user_name", None)


def node_label(node: Any) -> str:
    """``bad_avg (Average)`` for a node assigned to ``f.bad_avg``; ``Average#1`` otherwise."""
    draft = getattr(node, "_draft_node", node)
    name = getattr(draft, "_user_name", None)
    if name is None:
        return repr(draft)
    return f"{name} ({type(draft)._name()})"


def parameter_names(node: Any) -> list[str]:
    """The names of the node's input ports, in order (empty where the node has no signature)."""
    draft = getattr(node, "_draft_node", node)
    original = getattr(type(draft), "_original_call", None)
    signature = getattr(original, "signature", None)
    if signature is None:
        return []
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    names = [p.name for p in signature.parameters.values() if p.kind not in kinds]
    if names and names[0] == "self" and getattr(original, "class_name", None):
        names = names[1:]
    return names


def input_name(node: Any, index: int) -> str:
    """``'values'`` (the parameter of input ``index``), or ``2`` where the node has no such parameter."""
    names = parameter_names(node)
    return repr(names[index]) if index < len(names) else str(index)


def port_label(node: Any, index: int) -> str:
    """``input 'values' of bad_avg (Average)``, or ``input 2 of ...`` without a parameter name."""
    return f"input {input_name(node, index)} of {node_label(node)}"
