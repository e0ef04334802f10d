"""``python -m flowno_core check script.py``: what would stop the script's flows before they run."""

from __future__ import annotations

import argparse
from typing import Any

from .scripts import flows_in, load


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("check", help="check the flows a script defines, without running them")
    parser.add_argument("script")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    namespace = load(args.script, "__flowno_check__")
    flows = flows_in(namespace)
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
