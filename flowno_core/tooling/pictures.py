"""Pictures of a flow: Graphviz DOT and Mermaid flowcharts.

Theory of operation: ``sketch`` reads the flow once into boxes and arrows, and one small renderer
per format writes them out. A box is a node, named as the user wrote it (``total (Add)``); the hidden
constants a node was given (``Add(1, f.x)``) are folded into its box as ``a = 1`` lines instead of
boxes of their own. An arrow is a connection labelled ``output → parameter``; an arrow into a
``stream_in`` input is dashed (dotted in Mermaid), and an arrow into an input whose default starts
a cycle (``wiring.cycles``) is bold (thick in Mermaid) and says so. The nodes a template call made
are drawn inside a frame named as the call was assigned (``doubled (AddThenDouble)``), nested as the
templates were.

Every piece of user text (names, values) is escaped for the format it goes into, and identifiers
in the output are generated (``n0``, ``n1``...), so no node name or value can break the syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._graph.description.naming import node_label
from .analysis import parameter, shown
from .wiring import cycles, draft_of, is_constant, wires


@dataclass(frozen=True)
class Box:
    """A node: generated id, its label lines (its name, then its folded constants), and the
    template calls that made it, outermost first."""

    ident: str
    lines: tuple[str, ...]
    groups: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Arrow:
    """A connection between two boxes."""

    source: str
    target: str
    label: str
    streaming: bool
    starts_cycle: bool


def sketch(nodes: Sequence[Any]) -> tuple[list[Box], list[Arrow]]:
    """The boxes and arrows of a flow's nodes (hidden constants folded into their consumers)."""
    drawn = [node for node in nodes if not is_constant(node)]
    ident = {id(node): f"n{index}" for index, node in enumerate(drawn)}
    started = {(id(start.node), port) for start in cycles(nodes).starts for port in start.ports}
    folded: dict[int, list[str]] = {}
    arrows = []
    for wire in wires(nodes):
        into = parameter(wire.consumer, wire.input)
        if is_constant(wire.producer):
            folded.setdefault(id(wire.consumer), []).append(f"{into} = {shown(draft_of(wire.producer).value)}")
            continue
        label = f"{wire.output} → {into}"
        starts = (id(wire.consumer), wire.input) in started
        if starts:
            default = wire.consumer._input_ports[wire.input].default_value
            label += f" (starts with default {shown(default)})"
        arrows.append(Arrow(ident[id(wire.producer)], ident[id(wire.consumer)], label, wire.streaming, starts))
    boxes = [Box(ident[id(node)], (node_label(node), *folded.get(id(node), ())), _groups(node)) for node in drawn]
    return boxes, arrows


def _groups(node: Any) -> tuple[Any, ...]:
    """The template calls (group nodes) that made ``node``, outermost first."""
    chain = []
    group = draft_of(node)._group
    while group is not None:
        chain.append(group)
        group = group._group
    return tuple(reversed(chain))


def _framed(boxes: list[Box], depth: int = 0) -> list[tuple[Any, list[Box]] | Box]:
    """The boxes as a tree: a box outside any (deeper) frame, or ``(group, its boxes)``, in order."""
    items: list[tuple[Any, list[Box]] | Box] = []
    frames: dict[int, list[Box]] = {}
    for box in boxes:
        if len(box.groups) <= depth:
            items.append(box)
            continue
        group = box.groups[depth]
        if id(group) not in frames:
            frames[id(group)] = []
            items.append((group, frames[id(group)]))
        frames[id(group)].append(box)
    return items


def _write_frames(
    boxes: list[Box], write_box: Any, open_frame: Any, close_frame: str, indent: str, depth: int = 0
) -> list[str]:
    lines: list[str] = []
    for item in _framed(boxes, depth):
        if isinstance(item, Box):
            lines.append(indent + write_box(item))
            continue
        group, inside = item
        lines.append(indent + open_frame(group))
        lines.extend(_write_frames(inside, write_box, open_frame, close_frame, indent + "  ", depth + 1))
        lines.append(indent + close_frame)
    return lines


def to_dot(nodes: Sequence[Any], name: str = "flow") -> str:
    """A Graphviz ``digraph`` of the nodes (render it with ``dot -Tsvg``)."""
    boxes, arrows = sketch(nodes)
    lines = [f"digraph {dot_string(name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    frames = iter(range(1_000_000))

    def write_box(box: Box) -> str:
        label = "\\n".join(dot_text(line) for line in box.lines)
        return f'{box.ident} [label="{label}"];'

    def open_frame(group: Any) -> str:
        return f"subgraph cluster_{next(frames)} {{ label={dot_string(node_label(group))};"

    lines.extend(_write_frames(boxes, write_box, open_frame, "}", "  "))
    for arrow in arrows:
        styles = [style for style, wanted in (("dashed", arrow.streaming), ("bold", arrow.starts_cycle)) if wanted]
        style = f', style="{",".join(styles)}"' if styles else ""
        lines.append(f"  {arrow.source} -> {arrow.target} [label={dot_string(arrow.label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(nodes: Sequence[Any]) -> str:
    """A Mermaid ``flowchart`` of the nodes (GitHub renders it in a ```mermaid block)."""
    boxes, arrows = sketch(nodes)
    lines = ["flowchart LR"]
    frames = iter(range(1_000_000))

    def write_box(box: Box) -> str:
        return f'{box.ident}["{"<br/>".join(mermaid_text(line) for line in box.lines)}"]'

    def open_frame(group: Any) -> str:
        return f'subgraph g{next(frames)} ["{mermaid_text(node_label(group))}"]'

    lines.extend(_write_frames(boxes, write_box, open_frame, "end", "    "))
    for arrow in arrows:
        link = "-.->" if arrow.streaming else "==>" if arrow.starts_cycle else "-->"
        lines.append(f'    {arrow.source} {link}|"{mermaid_text(arrow.label)}"| {arrow.target}')
    return "\n".join(lines) + "\n"


# -- escaping -----------------------------------------------------------------------------------------
def dot_text(text: str) -> str:
    """Text for the inside of a DOT double-quoted string: unprintable characters shown as ``\\xNN``,
    backslashes and quotes escaped (so ``\\l``-style DOT escapes cannot appear by accident)."""
    visible = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return visible.replace("\\", "\\\\").replace('"', '\\"')


def dot_string(text: str) -> str:
    return f'"{dot_text(text)}"'


#: characters Mermaid would read as syntax or HTML inside a quoted label, written as entity codes
_MERMAID_SPECIAL = frozenset('"#%&<>|`\\;')


def mermaid_text(text: str) -> str:
    """Text for the inside of a Mermaid quoted label: syntax, HTML and unprintable characters as
    ``#NN;`` entity codes."""
    return "".join(f"#{ord(ch)};" if ch in _MERMAID_SPECIAL or not ch.isprintable() else ch for ch in text)
