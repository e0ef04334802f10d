"""mypy and pyright on a folder of example flows (tests/typing_examples, and the scripts of
examples/): the good ones pass (and run), and each bad one reports, on the line below each `# expected (<checker>): <message>` comment,
an error containing that message. mypy checks class nodes through flowno_core.mypy_plugin;
pyright needs no plugin."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "typing_examples"
#: checked too, as flows that must type-check cleanly: the runnable examples of the docs
SCRIPTS = ROOT / "examples"
EXPECTED = re.compile(r"^\s*# expected \((mypy|pyright)\): (.*)$")
Place = tuple[str, int]


def expectations(checker: str) -> dict[Place, list[str]]:
    """{(file, line): [messages]} from the comments above each offending line."""
    expected: dict[Place, list[str]] = {}
    for path in sorted(EXAMPLES.glob("*.py")):
        pending: list[str] = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = EXPECTED.match(line)
            if match:
                if match.group(1) == checker:
                    pending.append(match.group(2))
            elif pending and line.strip() and not line.strip().startswith("#"):
                expected[(path.name, number)] = pending
                pending = []
    return expected


def checked_files() -> list[str]:
    return [str(path) for path in sorted(EXAMPLES.glob("*.py")) + sorted(SCRIPTS.glob("*.py"))]


def run_mypy(tmp_path: Path) -> dict[Place, list[str]]:
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nplugins = flowno_core.mypy_plugin\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file", str(config),
         "--cache-dir", str(tmp_path / "cache"), *checked_files()],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    found: dict[Place, list[str]] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(.*?):(\d+): error: (.*)$", line)
        if match:
            found.setdefault((Path(match.group(1)).name, int(match.group(2))), []).append(match.group(3))
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2 would be a crash
    return found


def run_pyright(tmp_path: Path) -> dict[Place, list[str]]:
    config = tmp_path / "pyrightconfig.json"
    config.write_text(json.dumps({"extraPaths": [str(ROOT)], "pythonVersion": "3.11"}))
    result = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--project", str(config),
         "--pythonpath", sys.executable, *checked_files()],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        # no version check against PyPI: the run needs no network
        env={**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"},
    )
    report = json.loads(result.stdout)
    found: dict[Place, list[str]] = {}
    for diagnostic in report["generalDiagnostics"]:
        if diagnostic["severity"] == "error":
            place = (Path(diagnostic["file"]).name, diagnostic["range"]["start"]["line"] + 1)
            found.setdefault(place, []).append(diagnostic["message"])
    return found


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_checker_passes_the_good_examples_and_reports_each_expected_error(checker: str, tmp_path: Path) -> None:
    found = {"mypy": run_mypy, "pyright": run_pyright}[checker](tmp_path)
    expected = expectations(checker)
    assert len(expected) >= 6 and all(name.startswith("bad_") for name, _ in expected)
    assert set(found) == set(expected), found  # no error in a good example, none missing
    for place, messages in expected.items():
        for message in messages:
            assert any(message in error for error in found[place]), (place, message, found[place])


def test_every_bad_example_names_what_each_checker_reports() -> None:
    for path in sorted(EXAMPLES.glob("bad_*.py")):
        for checker in ("mypy", "pyright"):
            assert any(name == path.name for name, _ in expectations(checker)), (path.name, checker)


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("good_*.py")))
def test_the_good_examples_are_real_flows(example: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / example)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "the example prints what its flow computed"


def test_the_generated_node_types_are_current() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import generate_node_types
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert generate_node_types.TARGET.read_text() == generate_node_types.module(), (
        "run python tools/generate_node_types.py"
    )
