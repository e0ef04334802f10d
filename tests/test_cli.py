"""The command line and the README's main job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowno_core", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_run_executes_the_quickstart_streaming_flow():
    result = run_cli("run", "examples/quickstart.py")
    assert result.returncode == 0, result.stderr
    assert "STREAMS FLOW THROUGH FLOWNO CORE" in result.stdout
    assert "printed 13 chunks; the final text has 13 words" in result.stdout


def test_run_also_runs_a_flow_the_script_only_describes(tmp_path):
    script = tmp_path / "describe_only.py"
    script.write_text(
        "from flowno_core import FlowHDL, node\n"
        "@node\n"
        "async def Hello(name):\n"
        "    print(f'hello {name}')\n"
        "    return name\n"
        "with FlowHDL() as f:\n"
        "    f.hello = Hello('world')\n"
    )
    result = run_cli("run", str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("hello world") == 1


def test_check_reports_an_unbreakable_cycle_without_running(tmp_path):
    script = tmp_path / "cycle.py"
    script.write_text(
        "from flowno_core import FlowHDL, node\n"
        "@node\n"
        "async def Inc(value):\n"
        "    print('RAN')\n"
        "    return value + 1\n"
        "with FlowHDL() as f:\n"
        "    f.a = Inc(f.b)\n"
        "    f.b = Inc(f.a)\n"
    )
    result = run_cli("check", str(script))
    assert result.returncode == 1
    assert "error: f: the cycle of a (Inc), b (Inc) cannot start" in result.stdout
    assert "RAN" not in result.stdout


def test_check_passes_the_quickstart():
    result = run_cli("check", "examples/quickstart.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "f: OK (5 nodes)" in result.stdout


def test_graph_prints_dot_with_streaming_edges_dashed():
    result = run_cli("graph", "examples/quickstart.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('digraph "f" {')
    assert '[label="0 → words", style="dashed"]' in result.stdout
    assert "loud (Shout)" in result.stdout


def test_missing_script_is_a_clear_error():
    result = run_cli("run", "no/such/script.py")
    assert result.returncode != 0
    assert "no such file" in result.stderr
