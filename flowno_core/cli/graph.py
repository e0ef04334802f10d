"""``python -m flowno_core graph script.py [--format dot|mermaid|svg] [--flow NAME]``: draw a script's flows.

The script is inspected as for ``check`` (its ``__main__`` block does not run) and each flow it
defines at module level is printed with ``tooling.pictures``: Graphviz DOT (the default), a Mermaid
flowchart (preceded by a ``%% flow NAME`` comment when the script defines several), or SVG, which
Graphviz's ``dot`` program renders from the DOT (one flow at a time).

Exit status: 0 drawn, 1 no module-level flow, 2 the script cannot be loaded, ``--flow`` names no
flow, or SVG cannot be made (no ``dot`` on PATH, or several flows without ``--flow``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from typing import Any

from .._graph.runtime.flowhdl import FlowHDL
from ..tooling.pictures import to_dot, to_mermaid
from .scripts import describe_error, flows_in, inspect_script

NO_DOT = (
    "--format svg needs Graphviz's `dot` program, which is not on PATH: install Graphviz "
    "(apt-get install graphviz, brew install graphviz, https://graphviz.org/download/) "
    "or use --format dot or --format mermaid"
)


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "graph",
        help="draw the flows a script defines (Graphviz DOT, Mermaid or SVG)",
        description="Draw the flows a script defines at module level. Exit status: 0 drawn, 1 no flow, "
        "2 the script cannot be loaded or the picture cannot be made.",
    )
    parser.add_argument("script", help="the Python script that defines the flows")
    parser.add_argument(
        "--format", choices=("dot", "mermaid", "svg"), default="dot", help="picture format (default: dot)"
    )
    parser.add_argument("--flow", metavar="NAME", help="draw only the flow assigned to this variable")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    inspected = inspect_script(args.script)
    if inspected.error is not None:
        error = describe_error(inspected.error, args.script)
        print(f"flowno_core graph: {error}", file=sys.stderr)
        if error.hint:
            print(f"    hint: {error.hint}", file=sys.stderr)
        return 2
    flows = flows_in(inspected.namespace)
    if not flows:
        print(f"flowno_core graph: {args.script}: no module-level FlowHDL found", file=sys.stderr)
        return 1
    if args.flow is not None:
        chosen = [(name, flow) for name, flow in flows if name == args.flow]
        if not chosen:
            names = ", ".join(name for name, _ in flows)
            print(f"flowno_core graph: {args.script} has no flow named {args.flow!r} (its flows: {names})", file=sys.stderr)
            return 2
        flows = chosen
    if args.format == "svg":
        return _print_svg(flows)
    for position, (name, flow) in enumerate(flows):
        if position:
            print()
        if args.format == "dot":
            print(to_dot(flow._flow.nodes, name), end="")
        else:
            if len(flows) > 1:
                print(f"%% flow {name}")
            print(to_mermaid(flow._flow.nodes), end="")
    return 0


def _print_svg(flows: list[tuple[str, FlowHDL]]) -> int:
    if len(flows) > 1:
        names = ", ".join(name for name, _ in flows)
        print(f"flowno_core graph: --format svg draws one flow; choose one of {names} with --flow NAME", file=sys.stderr)
        return 2
    dot = shutil.which("dot")
    if dot is None:
        print(f"flowno_core graph: {NO_DOT}", file=sys.stderr)
        return 2
    name, flow = flows[0]
    rendered = subprocess.run([dot, "-Tsvg"], input=to_dot(flow._flow.nodes, name), capture_output=True, text=True)
    if rendered.returncode != 0:
        reason = (rendered.stderr.strip().splitlines() or ["no message"])[0]
        print(f"flowno_core graph: dot -Tsvg failed (status {rendered.returncode}): {reason}", file=sys.stderr)
        return 2
    sys.stdout.write(rendered.stdout)
    return 0
