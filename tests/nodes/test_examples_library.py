"""examples/sensor_pipeline.py runs as a script: readings put into an Inlet by a thread go through
from_inlet -> keep -> batch(size, seconds) -> apply -> collect. It runs in a subprocess, as a user
starts it, against this source tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sensor_pipeline.py"


def run_example() -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(ROOT), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_sensor_pipeline_batches_by_size_and_by_time():
    result = run_example()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        # four readings fill a batch (the failed read None was dropped by keep)
        "batch 1: 4 readings: mean 21.18, min 21.0, max 21.4",
        # the fifth does not wait for the second burst: the batch's 0.1 s run out during the pause
        "batch 2: 1 reading: mean 21.30, min 21.3, max 21.3",
        # the last batch is shorter (the glitch 999.0 was dropped); the inlet's close ends it
        "batch 3: 2 readings: mean 21.55, min 21.5, max 21.6",
        "kept 7 of 9 readings; run completed",
    ]
    assert result.stderr == ""
