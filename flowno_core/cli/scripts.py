"""Loading the user's script for a command, and finding the flows it defines at module level.

``run`` executes the script as ``__main__`` (its errors are the script's own, with a traceback).
``check`` and ``graph`` *inspect* it instead: ``inspect_script`` runs it as module
``__flowno_check__`` (so its ``if __name__ == "__main__":`` block does not run), sends what it
prints to stderr (stdout is for the report), and keeps an error instead of raising it, together
with the globals defined up to that point and, when the error ended a ``with FlowHDL() as f:``
block (a wiring mistake found at the end of the block), which flow that was. ``describe_error``
turns the error into one line with the script's ``file:line``.
"""

from __future__ import annotations

import ast
import contextlib
import os
import runpy
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._graph.description.namespace import FlowHDLView
from .._graph.runtime.flowhdl import FlowHDL

#: the module name an inspected script runs as
INSPECT_NAME = "__flowno_check__"
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep


def flows_in(namespace: dict[str, Any]) -> list[tuple[str, FlowHDL]]:
    """The module-level ``FlowHDL`` objects of a loaded script whose block completed, by variable name."""
    return [(name, value) for name, value in namespace.items() if isinstance(value, FlowHDL) and value._is_finalized]


def load(path: str, run_name: str) -> dict[str, Any]:
    """Execute the script (as module ``run_name``) and return its globals."""
    script = Path(path)
    if not script.exists():
        raise SystemExit(f"flowno_core: no such file: {path}")
    sys.path.insert(0, str(script.resolve().parent))
    try:
        return runpy.run_path(str(script), run_name=run_name)
    finally:
        sys.path.pop(0)


def never_ran(flow: FlowHDL) -> bool:
    return all(node.generation is None for node in flow._flow.nodes)


@dataclass
class InspectedScript:
    """What running a script for inspection left: its globals, and the error that stopped it."""

    path: str
    namespace: dict[str, Any]
    error: BaseException | None = None
    #: the module-level flow whose block ended in ``error`` (name, flow), if that is what happened
    stopped_in: tuple[str, FlowHDL] | None = None
    #: ``(variable, attribute) -> line`` of each ``f.name = ...`` assignment in the script
    assignments: dict[tuple[str, str], int] = field(default_factory=dict)

    def location_of(self, flow: str, attribute: str | None) -> str | None:
        """``script.py:12`` where the script first assigns ``flow.attribute``, or None."""
        line = self.assignments.get((flow, attribute or ""))
        return None if line is None else f"{self.path}:{line}"


@dataclass(frozen=True)
class ErrorLine:
    """An error that stopped a script, as ``location: Type: first line of the message``."""

    type: str
    message: str
    location: str
    hint: str | None

    def __str__(self) -> str:
        return f"{self.location}: error: {self.type}: {self.message}"


def inspect_script(path: str) -> InspectedScript:
    """Run the script as module ``__flowno_check__``, keeping (not raising) the error that stops it."""
    module = types.ModuleType(INSPECT_NAME)
    module.__file__ = path
    inspected = InspectedScript(path, module.__dict__)
    saved_module, saved_argv = sys.modules.get(INSPECT_NAME), sys.argv
    sys.modules[INSPECT_NAME], sys.argv = module, [path]
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        with contextlib.redirect_stdout(sys.stderr):
            source = Path(path).read_bytes()
            inspected.assignments = attribute_assignments(source)
            exec(compile(source, path, "exec"), module.__dict__)
    except (Exception, SystemExit) as error:
        inspected.error = error
        inspected.stopped_in = _flow_stopped_by(error, module.__dict__)
    finally:
        sys.path.pop(0)
        sys.argv = saved_argv
        if saved_module is None:
            del sys.modules[INSPECT_NAME]
        else:
            sys.modules[INSPECT_NAME] = saved_module
    return inspected


def attribute_assignments(source: bytes) -> dict[tuple[str, str], int]:
    """The first line of every ``name.attribute = ...`` in the source (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    lines: dict[tuple[str, str], int] = {}
    for statement in ast.walk(tree):
        if not isinstance(statement, ast.Assign):
            continue
        for target in statement.targets:
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                key = (target.value.id, target.attr)
                lines[key] = min(statement.lineno, lines.get(key, statement.lineno))
    return lines


def _flow_stopped_by(error: BaseException, namespace: dict[str, Any]) -> tuple[str, FlowHDL] | None:
    """The module-level flow whose block was ending (``__exit__``) when ``error`` was raised."""
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if frame.f_code is FlowHDLView.__exit__.__code__:
            view = frame.f_locals.get("self")
            if not isinstance(view, FlowHDL):
                return None  # a template's block, or a flow inside another's block
            return next(((name, view) for name, value in namespace.items() if value is view), None)
        traceback = traceback.tb_next
    return None


def describe_error(error: BaseException, path: str) -> ErrorLine:
    """One line for the error (its type and the first line of its message), where it happened in
    the script (the deepest frame in the script, else the deepest outside flowno_core), and the
    hint the error carries in a ``hint: ...`` note, if any."""
    message = str(error).strip().splitlines()[0] if str(error).strip() else "(no message)"
    if isinstance(error, FileNotFoundError) and not Path(path).exists():
        return ErrorLine("FileNotFoundError", f"no such file: {path}", path, None)
    location = path
    if isinstance(error, SyntaxError) and error.lineno is not None:
        location = f"{error.filename or path}:{error.lineno}"
        message = error.msg
    else:
        outside = None
        traceback = error.__traceback__
        while traceback is not None:
            filename = traceback.tb_frame.f_code.co_filename
            if filename == path:
                location = f"{path}:{traceback.tb_lineno}"
            elif not filename.startswith(_PACKAGE_DIR):
                outside = f"{filename}:{traceback.tb_lineno}"
            traceback = traceback.tb_next
        if location == path and outside is not None:
            location = outside
    notes = getattr(error, "__notes__", None) or []
    hint = next((note[len("hint:") :].strip() for note in notes if note.startswith("hint:")), None)
    return ErrorLine(type(error).__name__, message, location, hint)
