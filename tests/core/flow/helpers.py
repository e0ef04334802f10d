"""Small helpers shared by the flow tests (no hypothesis strategies here: see flowno_core.testing)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

from flowno_core import FlowHDL, VirtualClock

#: Deadlock detection waits this many real seconds in tests (the default is 0.25 s).
GRACE = 0.01


def vflow() -> FlowHDL:
    """A FlowHDL on a virtual clock with a short deadlock grace."""
    f = FlowHDL(clock=VirtualClock())
    f._flow.deadlock_grace = GRACE
    return f


def now(f: FlowHDL) -> float:
    """The flow's (virtual) time."""
    return f._flow.event_loop.clock.now()


def run_python(code: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a fresh hash seed per call unless env says otherwise)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def gens(*nodes: Any) -> list[Any]:
    return [n.generation for n in nodes]


def datas(*nodes: Any) -> list[Any]:
    return [n.get_data() for n in nodes]
