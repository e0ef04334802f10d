"""mypy on a folder of example flows (tests/typing_examples): the good ones pass, and each bad one
reports the error its `# expected:` comment names, on that line (class nodes are checked through
flowno_core.mypy_plugin)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "typing_examples"


def expectations() -> dict[tuple[str, int], str]:
    expected = {}
    for path in sorted(EXAMPLES.glob("bad_*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if "# expected: " in line:
                expected[(path.name, number)] = line.split("# expected: ", 1)[1]
    return expected


def test_mypy_passes_the_good_examples_and_reports_each_expected_error(tmp_path: Path) -> None:
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nplugins = flowno_core.mypy_plugin\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--config-file", str(config),
         "--cache-dir", str(tmp_path / "cache"), *map(str, sorted(EXAMPLES.glob("*.py")))],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"MYPYPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    found: dict[tuple[str, int], str] = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(.*?):(\d+): error: (.*)$", line)
        if match:
            found[(Path(match.group(1)).name, int(match.group(2)))] = match.group(3)
    expected = expectations()
    assert len(expected) >= 3 and all(name.startswith("bad_") for name, _ in expected)
    assert set(found) == set(expected), result.stdout  # no error in a good example, none missing
    for place, message in expected.items():
        assert message in found[place], (place, found[place])
