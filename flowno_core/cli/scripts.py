"""Loading the user's script for a command, and finding the flows it defines at module level."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any

from .._graph.runtime.flowhdl import FlowHDL


def flows_in(namespace: dict[str, Any]) -> list[tuple[str, FlowHDL]]:
    """The module-level ``FlowHDL`` objects of a loaded script, by variable name."""
    return [(name, value) for name, value in namespace.items() if isinstance(value, FlowHDL)]


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
