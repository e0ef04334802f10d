"""The command line: ``python -m flowno_core {run,check,graph} script.py``.

Theory of operation: one module per command, each with ``add_parser(commands)`` (its options) and
``command(args)`` (its exit status); ``scripts`` loads the user's script and finds its flows.

* ``run``   executes a script as ``__main__``; flows it builds but does not run itself are then run
  (so a script can just describe ``with FlowHDL() as f: ...``).
* ``check`` loads a script without running its ``__main__`` block and reports, for every flow it
  defines at module level, the mistakes ``tooling.analysis`` finds (text or ``--format json``).
  Exit status 0 clean, 1 errors or no flow, 2 the script cannot be loaded.
* ``graph`` draws every module-level flow (``tooling.pictures``) as Graphviz DOT, Mermaid or SVG.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import check, graph, run

DESCRIPTION = "Run, check and draw flowno_core flows defined in a Python script."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flowno_core", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (run, check, graph):
        module.add_parser(commands)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
