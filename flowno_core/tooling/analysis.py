"""Static analysis of a flow: the mistakes that would stop a run, or surprise its author.

Theory of operation: ``check_flow`` reads a flow's nodes (never runs them) and returns a list of
``Finding``; each names the flow variable, the node as the user wrote it (``total (Add)``, see
``naming``) and the input by its parameter name, says what is wrong in one sentence and what to
write instead in a one-line hint. Errors would stop the run; warnings describe a flow that runs
but probably not as meant.

* errors: a node given more arguments than its function has parameters (the run would fail with a
  TypeError), an input neither connected nor defaulted, a cycle no default can start (``wiring``);
* warnings: a ``stream_in`` input fed by a producer that does not stream (it gets a stream of one
  item), and a node whose code iterates, with ``async for``, a parameter fed by a streaming node
  but not declared in ``stream_in`` (it gets the final value, not the stream; the loops are found
  in the function's source with ``ast``).

``unconnected_inputs`` also works on the draft nodes of a block that failed to finalize, so a
script whose block ends in that error still gets a report of every such input.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from types import CodeType
from typing import Any, Literal

from .._graph.description.draft import original_call_of
from .._graph.description.naming import node_label, parameter_names
from .wiring import StuckCycle, Wire, cycles, draft_of, is_constant, streams, wires

Severity = Literal["error", "warning"]
#: ``locate(node)``: where the script creates the node (``"script.py:12"``), or None
Locator = Callable[[Any], "str | None"]

#: how much of a constant's repr a message shows
SHOWN_VALUE_LENGTH = 40


@dataclass(frozen=True)
class Finding:
    """One mistake. ``kind`` is a stable identifier for tools (``"too-many-arguments"``, ...);
    ``flow`` the variable the flow is assigned to, ``node`` its label (``total (Add)``), ``port``
    the parameter (``b``, or ``input 2`` where the node names none; several joined by ``, ``);
    ``location`` is ``file:line`` when known."""

    severity: Severity
    kind: str
    flow: str | None
    node: str | None
    port: str | None
    message: str
    hint: str
    location: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_flow(name: str, nodes: Sequence[Any], locate: Locator | None = None) -> list[Finding]:
    """Every finding for the flow ``name`` made of ``nodes`` (finalized, in creation order): errors
    first, then warnings.

    Example::

        findings = check_flow("f", f._flow.nodes)
        assert [finding.kind for finding in findings] == []
    """
    where = locate or (lambda node: None)
    by_consumer: dict[int, list[Wire]] = {}
    for wire in wires(nodes):
        by_consumer.setdefault(id(wire.consumer), []).append(wire)
    sources: dict[CodeType, dict[str, int]] = {}
    found: list[Finding] = []
    for node in nodes:
        into = by_consumer.get(id(node), [])
        found.extend(_too_many_arguments(name, node, into, where))
        found.extend(_streams_of_one_item(name, node, into, where))
        found.extend(_undeclared_streams(name, node, into, sources))
    found.extend(unconnected_inputs(name, nodes, where))
    found.extend(_stuck_cycle(name, stuck, where) for stuck in cycles(nodes).stuck)
    return sorted(found, key=lambda finding: finding.severity != "error")


def unconnected_inputs(name: str, nodes: Sequence[Any], locate: Locator | None = None) -> list[Finding]:
    """An error for every input that is neither connected nor defaulted (nodes or draft nodes)."""
    where = locate or (lambda node: None)
    found = []
    for node in nodes:
        for index in sorted(node._input_ports):
            port = node._input_ports[index]
            if port.connected_output is not None or port.has_default:
                continue
            said = port_name(node, index)
            found.append(
                Finding(
                    "error",
                    "unconnected-input",
                    name,
                    node_label(node),
                    parameter(node, index),
                    f"input {said} of {node_label(node)} is not connected and has no default value",
                    f"pass an argument for {said} where {node_label(node)} is created, "
                    f"or give {said} a default in the definition of {class_name(node)}",
                    where(node),
                )
            )
    return found


def parameter(node: Any, index: int) -> str:
    """``values``: the parameter behind input ``index``, or ``input 2`` where the node names none."""
    names = parameter_names(node)
    return names[index] if index < len(names) else f"input {index}"


def port_name(node: Any, index: int) -> str:
    """``'values'`` (quoted, for a sentence), or ``input 2``."""
    names = parameter_names(node)
    return repr(names[index]) if index < len(names) else f"input {index}"


def class_name(node: Any) -> str:
    return str(type(draft_of(node))._name())


def shown(value: Any) -> str:
    """A constant's repr, shortened for a message or a picture."""
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_LENGTH else text[: SHOWN_VALUE_LENGTH - 1] + "…"


def describe_producer(node: Any) -> str:
    """``the constant 3`` for a hidden constant, the node's label otherwise."""
    if is_constant(node):
        return f"the constant {shown(draft_of(node).value)}"
    return node_label(node)


# -- one function per kind of finding ---------------------------------------------------------------
def _too_many_arguments(flow: str, node: Any, into: list[Wire], where: Locator) -> list[Finding]:
    parameters = positional_parameters(node)
    if parameters is None:
        return []
    extra = [wire for wire in into if wire.input >= len(parameters)]
    if not extra:
        return []
    given = max(wire.input for wire in into) + 1
    surplus = ", ".join(describe_producer(wire.producer) for wire in extra)
    signature = f"{class_name(node)}({', '.join(parameters)})"
    return [
        Finding(
            "error",
            "too-many-arguments",
            flow,
            node_label(node),
            None,
            f"{node_label(node)} is given {given} arguments, but {signature} takes {len(parameters)}; "
            "the run would fail with a TypeError",
            f"remove the extra argument{'s' if len(extra) > 1 else ''} ({surplus}), "
            f"or add a parameter to {class_name(node)}",
            where(node),
        )
    ]


def positional_parameters(node: Any) -> list[str] | None:
    """The parameters an argument can fill, by position; None when the node takes any number
    (``*args``) or has no signature to read."""
    original = original_call_of(type(draft_of(node)))
    parameters = list(original.signature.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    if original.class_name and parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in positional]


def _streams_of_one_item(flow: str, node: Any, into: list[Wire], where: Locator) -> list[Finding]:
    found = []
    for wire in into:
        if not wire.streaming or streams(wire.producer) is not False:
            continue
        said = port_name(node, wire.input)
        found.append(
            Finding(
                "warning",
                "stream-from-plain-producer",
                flow,
                node_label(node),
                parameter(node, wire.input),
                f"input {said} of {node_label(node)} is declared in stream_in, but "
                f"{describe_producer(wire.producer)} does not stream: it arrives as a stream of one item",
                f"make the producer an async generator that yields its chunks, or remove {said} "
                "from stream_in to receive the value itself",
                where(node),
            )
        )
    return found


def _undeclared_streams(
    flow: str, node: Any, into: list[Wire], sources: dict[CodeType, dict[str, int]]
) -> list[Finding]:
    """A parameter iterated with ``async for`` but read as a plain value, while its producer streams
    (or may: a hand-written node). A parameter given a constant is left alone: code may well accept
    an async iterable value (``from_iterable`` does)."""
    names = parameter_names(node)
    original = getattr(type(draft_of(node)), "_original_call", None)
    fed = [wire for wire in into if not wire.streaming and wire.input < len(names) and streams(wire.producer) is not False]
    if not fed or original is None:
        return []
    code = original.call_code
    iterated = sources.get(code)
    if iterated is None:
        iterated = sources[code] = iterated_with_async_for(code, names)
    found = []
    for wire in fed:
        name = names[wire.input]
        line = iterated.get(name)
        if line is None:
            continue
        found.append(
            Finding(
                "warning",
                "undeclared-stream",
                flow,
                node_label(node),
                name,
                f"{node_label(node)} iterates {name!r} with `async for`, but {name!r} is not declared "
                f"in stream_in: it receives the final value of {node_label(wire.producer)}, not its stream",
                f'declare it: @node(stream_in=["{name}"])',
                f"{code.co_filename}:{line}",
            )
        )
    return found


def iterated_with_async_for(code: CodeType, names: list[str]) -> dict[str, int]:
    """The parameters among ``names`` that the code's source iterates with ``async for`` (also in
    an async comprehension), each with the line of its first such loop; empty without source."""
    try:
        lines, first_line = inspect.getsourcelines(code)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return {}
    found: dict[str, int] = {}
    for item in ast.walk(tree):
        if isinstance(item, ast.AsyncFor) or (isinstance(item, ast.comprehension) and item.is_async):
            target = item.iter
            if isinstance(target, ast.Name) and target.id in names:
                line = first_line + target.lineno - 1
                found[target.id] = min(line, found.get(target.id, line))
    return found


def _stuck_cycle(flow: str, stuck: StuckCycle, where: Locator) -> Finding:
    first = stuck.members[0]
    labels = ", ".join(node_label(member) for member in stuck.members)
    lacking = "; ".join(
        f"{node_label(member)}: {', '.join(port_name(member, p) for p in ports)}"
        for member, ports in zip(stuck.members, stuck.missing)
    )
    first_ports = ", ".join(port_name(first, p) for p in stuck.missing[0])
    return Finding(
        "error",
        "stuck-cycle",
        flow,
        node_label(first),
        ", ".join(parameter(first, p) for p in stuck.missing[0]),
        f"the cycle of {labels} cannot start: every member has an input from inside the cycle "
        f"without a default ({lacking})",
        f"give {first_ports} a default in the definition of {class_name(first)} (or do the same for "
        "another member of the cycle)",
        where(first),
    )
