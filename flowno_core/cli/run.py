"""``python -m flowno_core run script.py [args...]``: run a script, then the flows it only describes."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import Any

from .scripts import flows_in, load, never_ran


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("run", help="run a script (and the flows it only describes)")
    parser.add_argument(
        "--trace", metavar="FILE", help="write a Chrome/Perfetto trace of the runs to FILE (open it at ui.perfetto.dev)"
    )
    parser.add_argument(
        "--progress", action="store_true", help="show evaluations, chunks per second and the generation reached on stderr"
    )
    parser.add_argument(
        "--dashboard", nargs="?", metavar="PORT", action=_DashboardPort,
        help="serve a live dashboard of the runs on PORT (none or 0: a free one; the URL goes to stderr)",
    )
    parser.add_argument(
        "--dashboard-keep", action="store_true",
        help="keep the dashboard serving after the script ends, until Ctrl-C",
    )
    parser.add_argument("script", nargs="?")  # (optional: `--dashboard script.py` takes it, see _DashboardPort)
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=command, dashboard_script=None)


class _DashboardPort(argparse.Action):
    """``--dashboard [PORT]``: a value that is not a port number is the script
    (``run --dashboard script.py``), which argparse gave the option instead."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, value: Any, option_string: str | None = None) -> None:
        port = 0
        if value is not None and value.isdigit() and int(value) < 65536:
            port = int(value)
        elif value is not None:
            namespace.dashboard_script = value
        setattr(namespace, self.dest, port)


def command(args: argparse.Namespace) -> int:
    if args.dashboard_script is not None:  # `--dashboard script.py a b`: the script, then its arguments
        args.script_args = [args.script, *args.script_args] if args.script is not None else args.script_args
        args.script = args.dashboard_script
    if args.script is None:
        print("python -m flowno_core run: the script to run is missing", file=sys.stderr)
        return 2
    sys.argv = [args.script, *args.script_args]
    with _instruments(args):
        namespace = load(args.script, "__main__")
        for name, flow in flows_in(namespace):
            if never_ran(flow) and flow._flow.nodes:
                print(f"flowno_core: running flow {name!r}", file=sys.stderr)
                flow.run_until_complete()
    return 0


def _instruments(args: argparse.Namespace) -> ExitStack:
    """The instruments ``--dashboard``, ``--trace`` and ``--progress`` ask for, active while the
    script runs (the trace is written when it ends, also when it raises)."""
    stack = ExitStack()
    if args.dashboard is not None or args.dashboard_keep:
        from ..tooling.dashboard import Dashboard

        dashboard = stack.enter_context(Dashboard(port=args.dashboard or 0))
        if args.dashboard_keep:
            stack.push(dashboard.keep_serving)  # (on exit: after the trace is written, before the dashboard stops)
    if args.trace:
        from ..tooling.tracing import TraceRecorder

        stack.callback(print, f"flowno_core: trace written to {args.trace} (open it at https://ui.perfetto.dev)", file=sys.stderr)
        stack.enter_context(TraceRecorder(args.trace))
    if args.progress:
        from ..tooling.progress import ProgressDisplay

        stack.enter_context(ProgressDisplay())
    return stack
