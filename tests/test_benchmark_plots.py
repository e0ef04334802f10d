"""benchmarks/plots.py draws PNGs from a results file, and the committed plots are where both the
README (on GitHub) and the docs site (which includes the README verbatim) look for them.

matplotlib is not a test dependency: without it the test checks that plots.py says so clearly.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLOTS = ROOT / "benchmarks" / "plots.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _row(bench, case, size, impl, value, unit="us/item", status="ok"):
    ok = status == "ok"
    return {"bench": bench, "case": case, "size": size, "impl": impl, "status": status, "unit": unit,
            "higher_is_better": False, "best": value if ok else None,
            "median": value * 1.05 if ok else None, "samples": [value] if ok else [], "note": "",
            "extra": {}}


def _synthetic(path: Path) -> None:
    machine = {"date": "2026-01-01 00:00", "cpus": 2, "python": "3.11.7", "commit": "0000000"}
    flow = [_row("flow", case, n, impl, v, "us/eval")
            for case in ("chain", "cycle")
            for n, impl, v in [(1000, "flowno_core", 8.0), (20000, "flowno_core", 8.8),
                               (1000, "flowno", 450.0), (1000, "asyncio", 4.2), (20000, "asyncio", 6.3)]]
    flow.append(_row("flow", "fanout", 20000, "flowno_core", 0, "us/eval", status="timeout"))
    stream = [_row("stream", "pipeline", k, impl, v) for k in (1000, 20000, 100000)
              for impl, v in [("flowno_core", 8.0), ("aiostream", 1.2), ("asyncio_queue", 8.4)]]
    stream.append(_row("stream", "memory", 1000, "flowno_core", 23.0, "KiB peak"))
    data = {"machine": machine, "quick": False, "metric": "best",
            "benches": [{"bench": "flow", "machine": machine, "quick": False, "rounds": 2, "results": flow},
                        {"bench": "stream", "machine": machine, "quick": True, "rounds": 1, "results": stream}]}
    path.write_text(json.dumps(data))


def _draw(results: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PLOTS), str(results), "--out", str(out)],
                          check=False, capture_output=True, text=True, timeout=120)


def test_plots_from_synthetic_results(tmp_path):
    results = tmp_path / "results.json"
    _synthetic(results)
    first = _draw(results, tmp_path / "a")
    if importlib.util.find_spec("matplotlib") is None:
        assert first.returncode == 2
        assert "needs matplotlib" in first.stderr and ".bench-venv" in first.stderr
        assert not (tmp_path / "a").exists()
        return
    assert first.returncode == 0, first.stderr
    # one PNG per scaling benchmark in the file; library is absent, so no library.png
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["flow.png", "stream.png"]
    for png in (tmp_path / "a").iterdir():
        assert png.read_bytes().startswith(PNG_SIGNATURE)
        assert png.stat().st_size > 10_000
    # deterministic: the same numbers give the same bytes
    second = _draw(results, tmp_path / "b")
    assert second.returncode == 0, second.stderr
    for png in (tmp_path / "a").iterdir():
        assert (tmp_path / "b" / png.name).read_bytes() == png.read_bytes()


def test_plots_reject_a_file_that_is_not_results(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    proc = _draw(bad, tmp_path / "out")
    assert proc.returncode == 2
    assert "error:" in proc.stderr


def test_committed_plots_are_in_both_places_and_embedded():
    """README.md's plots/NAME.png resolves from benchmarks/ (GitHub) and from docs/ (the site)."""
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    embedded = set(re.findall(r"!\[[^\]]*\]\(plots/([\w-]+\.png)\)", readme))
    assert embedded, "benchmarks/README.md embeds no plots"
    for name in embedded:
        repo_copy = ROOT / "benchmarks" / "plots" / name
        site_copy = ROOT / "docs" / "plots" / name
        assert repo_copy.is_file() and site_copy.is_file(), name
        assert repo_copy.read_bytes() == site_copy.read_bytes(), f"{name}: re-run benchmarks/plots.py"
