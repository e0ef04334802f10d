"""examples/llm_asyncio_sdk.py runs as a script (issue 14): an asyncio chat client called from nodes
through from_asyncio, against the example's own fake endpoint, in a subprocess as a user starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "llm_asyncio_sdk.py"


def run_example(*args: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_example_answers_every_question_in_order():
    result = run_example("--question", "first?", "--question", "second?", "--question", "third?")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Asking the local fake endpoint http://127.0.0.1:")
    assert lines[1:] == [
        "Q: first?", "A: An answer to 'first?'.",
        "Q: second?", "A: An answer to 'second?'.",
        "Q: third?", "A: An answer to 'third?'.",
    ]


def test_the_example_runs_with_its_default_questions():
    result = run_example()
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nA: An answer to ") == 3
