"""Every Python block of README.md runs (the README names only what exists), and prints what its
comments say: as in tests/test_docs.py, a ``print(...)`` line followed by ``# expected`` must print a
line that starts with the expected text (the part before `` -- ``)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def expected_lines(block: str) -> list[str]:
    return [
        match.group(1).split(" -- ")[0].strip()
        for match in (re.match(r"\s*print\(.*\)\s+#\s+(.*)$", line) for line in block.splitlines())
        if match
    ]


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


def test_every_python_block_is_found():
    """A block the regex missed (```py, ```python3, an indented fence) would go untested."""
    fences = re.findall(r"^\s*```(py\w*)\s*$", README.read_text(), re.MULTILINE)
    assert len(fences) == len(BLOCKS), fences


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index):
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(BLOCKS[index], f"README.md[block {index}]", "exec"), {"__name__": "readme"})
    printed = output.getvalue().splitlines()
    wanted = expected_lines(BLOCKS[index])
    assert len(printed) >= len(wanted), printed
    for line, expectation in zip(printed, wanted):
        assert line.startswith(expectation), (line, expectation)
