"""Running the command line in a subprocess, the paths the tooling tests use, and two nodes their
flows share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flowno_core import Stream, node, sleep

ROOT = Path(__file__).resolve().parent.parent.parent
BROKEN = Path(__file__).resolve().parent / "broken_scripts"


def run_cli(*args: str, cwd: Path = ROOT, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m flowno_core ARGS``; ``path`` replaces the PATH the command sees."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "flowno_core", *args], cwd=cwd, capture_output=True, text=True, timeout=60, env=env
    )


@node
async def Numbers(count: int):
    """Streams 0..count-1, one item per 0.1 s of loop time."""
    for index in range(count):
        await sleep(0.1)
        yield index


@node(stream_in=["values"])
async def Total(values: Stream[int]):
    total = 0
    async for value in values:
        total += value
    return total
