"""``python -m flowno_core graph script.py``: the script's flows as Graphviz DOT."""

from __future__ import annotations

import argparse
from typing import Any

from .._graph.runtime.flowhdl import FlowHDL
from .scripts import flows_in, load


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("graph", help="print the flows a script defines as Graphviz DOT")
    parser.add_argument("script")
    parser.set_defaults(handler=command)


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


def command(args: argparse.Namespace) -> int:
    namespace = load(args.script, "__flowno_check__")
    for name, flow in flows_in(namespace):
        print(to_dot(name, flow))
    return 0
