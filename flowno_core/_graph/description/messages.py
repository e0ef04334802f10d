"""Human-readable descriptions of nodes for error messages (MissingDefaultError's exact shape)."""

from __future__ import annotations

import inspect
from typing import Any


def _annotation_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "Any"
    if isinstance(annotation, str):
        return annotation
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def _parameter_text(parameter: inspect.Parameter) -> str:
    text = f"{parameter.name}: {_annotation_text(parameter.annotation)}"
    if parameter.default is not inspect.Parameter.empty:
        text += f" = {parameter.default}"
    return text


def _parameters_and_underline(parameters: list[inspect.Parameter], underlined: set[int]) -> tuple[str, str]:
    texts = [_parameter_text(p) for p in parameters]
    line = ", ".join(texts)
    marks = []
    for index, text in enumerate(texts):
        if index:
            marks.append("  ")
        marks.append(("-" if index in underlined else " ") * len(text))
    return line, "".join(marks)


def signature_block(node: Any, underlined_ports: list[int]) -> str:
    """``async def Name(p: T, q: T = d)`` (or the class form) with dashes under ``underlined_ports``."""
    original = node._original_call
    parameters = list(original.signature.parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    underlined = set(underlined_ports)
    params, marks = _parameters_and_underline(parameters, underlined)
    if original.class_name and original.func_name == "call":
        return (
            f"  class {original.class_name}:\n"
            f"      async def call(self, {params}): ...\n"
            f"{' ' * (len(original.func_name) + 23)}{marks}"
        )
    signature_line = f"{original.func_name}({params})"
    underline = " " * (len(original.func_name) + 1) + marks + " "
    return f"  async def {signature_line}\n{' ' * 12}{underline}"


def missing_defaults_block(node: Any, ports: list[int]) -> str:
    """One node's block of a MissingDefaultError message."""
    original = node._original_call
    return (
        f"  {node} must have defaults for EACH/ALL the underlined parameters:\n"
        f"  Defined at {original.filename}:{original.lineno}\n"
        f"  Full Signature:\n"
        f"{signature_block(node, ports)}"
    )


CYCLE_HEADER = (
    "Detected a cycle without default values. You must add defaults to the indicated arguments "
    "for at least ONE of the following nodes:\n"
)


def cycle_message(members: dict[Any, list[int]]) -> str:
    """The cycle form: header plus one block per member lacking defaults, joined by ``OR``."""
    blocks = [missing_defaults_block(node, ports) for node, ports in members.items() if ports]
    return CYCLE_HEADER + "\nOR\n".join(blocks)
