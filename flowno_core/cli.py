"""The command line: ``python -m flowno_core {run,check,graph} script.py``.

* ``run``   executes a script as ``__main__``; flows it builds but does not run itself are then run
  (so a script can just describe ``with FlowHDL() as f: ...``).
* ``check`` loads a script without running its ``__main__`` block and reports, for every flow it
  defines at module level, what would stop the flow before it runs (D16): cycles no default can
  break and inputs neither connected nor defaulted. Exit status 1 when something is wrong.
* ``graph`` prints every module-level flow as a Graphviz DOT graph (streaming edges dashed).
"""

from __future__ import annotations

import argparse
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._graph.runtime.flowhdl import FlowHDL


def _flows_in(namespace: dict[str, Any]) -> list[tuple[str, FlowHDL]]:
    return [(name, value) for name, value in namespace.items() if isinstance(value, FlowHDL)]


def _load(path: str, run_name: str) -> dict[str, Any]:
    script = Path(path)
    if not script.exists():
        raise SystemExit(f"flowno_core: no such file: {path}")
    sys.path.insert(0, str(script.resolve().parent))
    try:
        return runpy.run_path(str(script), run_name=run_name)
    finally:
        sys.path.pop(0)


def _never_ran(flow: FlowHDL) -> bool:
    return all(node.generation is None for node in flow._flow.nodes)


def command_run(args: argparse.Namespace) -> int:
    sys.argv = [args.script, *args.script_args]
    namespace = _load(args.script, "__main__")
    for name, flow in _flows_in(namespace):
        if _never_ran(flow) and flow._flow.nodes:
            print(f"flowno_core: running flow {name!r}", file=sys.stderr)
            flow.run_until_complete()
    return 0


def command_check(args: argparse.Namespace) -> int:
    namespace = _load(args.script, "__flowno_check__")
    flows = _flows_in(namespace)
    if not flows:
        print(f"{args.script}: no module-level FlowHDL found")
        return 0
    failed = False
    for name, flow in flows:
        problems = flow._flow.check()
        if not problems:
            print(f"{name}: OK ({len(flow._flow.nodes)} nodes)")
            continue
        failed = True
        for problem in problems:
            print(f"{name}: {type(problem).__name__}: {problem}")
    return 1 if failed else 0


def to_dot(name: str, flow: FlowHDL) -> str:
    """A Graphviz description of a flow: one box per node, streaming connections dashed."""
    lines = [f'digraph "{name}" {{', "  rankdir=LR;", "  node [shape=box];"]
    nodes = flow._flow.nodes
    ids = {id(node): f"n{index}" for index, node in enumerate(nodes)}
    for node in nodes:
        lines.append(f'  {ids[id(node)]} [label="{node!r}"];')
    for node in nodes:
        for index, port in sorted(node._input_ports.items()):
            ref = port.connected_output
            if ref is None:
                continue
            style = ', style="dashed"' if port.minimum_run_level >= 1 else ""
            lines.append(
                f'  {ids[id(ref.node)]} -> {ids[id(node)]} [label="{ref.port_index}->{index}"{style}];'
            )
    lines.append("}")
    return "\n".join(lines)


def command_graph(args: argparse.Namespace) -> int:
    namespace = _load(args.script, "__flowno_check__")
    for name, flow in _flows_in(namespace):
        print(to_dot(name, flow))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowno_core", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a script (and the flows it only describes)")
    run.add_argument("script")
    run.add_argument("script_args", nargs=argparse.REMAINDER)
    run.set_defaults(handler=command_run)
    check = commands.add_parser("check", help="check the flows a script defines, without running them")
    check.add_argument("script")
    check.set_defaults(handler=command_check)
    graph = commands.add_parser("graph", help="print the flows a script defines as Graphviz DOT")
    graph.add_argument("script")
    graph.set_defaults(handler=command_graph)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
