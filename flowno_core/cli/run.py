"""``python -m flowno_core run script.py [args...]``: run a script, then the flows it only describes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .scripts import flows_in, load, never_ran


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("run", help="run a script (and the flows it only describes)")
    parser.add_argument("script")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    sys.argv = [args.script, *args.script_args]
    namespace = load(args.script, "__main__")
    for name, flow in flows_in(namespace):
        if never_ran(flow) and flow._flow.nodes:
            print(f"flowno_core: running flow {name!r}", file=sys.stderr)
            flow.run_until_complete()
    return 0
