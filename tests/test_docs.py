"""Every Python block of the guides in docs/ runs, and prints what its comments say.

A ``print(...)`` line followed by ``# expected`` is checked: the printed line must start with the
expected text (the part before `` -- ``, which introduces an explanation).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
OWN_TESTS = {"io.md", "connectors.md", "server-production.md"}  # tested by their own suites
BLOCKS = [
    (path.name, index, block)
    for path in sorted(DOCS.glob("*.md"))
    if path.name not in OWN_TESTS
    for index, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL))
]


def expected_lines(block: str) -> list[str]:
    expected = []
    for line in block.splitlines():
        match = re.match(r"\s*print\(.*\)\s+#\s+(.*)$", line)
        if match:
            expected.append(match.group(1).split(" -- ")[0].strip())
    return expected


def test_there_are_guides_with_examples():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("name, index, block", BLOCKS, ids=[f"{n}[{i}]" for n, i, _ in BLOCKS])
def test_guide_block_runs_and_prints_what_it_says(name, index, block):
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(block, f"docs/{name}[block {index}]", "exec"), {"__name__": "docs_example"})
    printed = [line for line in output.getvalue().splitlines() if not line.startswith("producer cleaned")]
    wanted = expected_lines(block)
    if wanted:
        assert len(printed) >= len(wanted), printed
        for line, expectation in zip(printed, wanted):
            assert line.startswith(expectation), (line, expectation)


def test_a_rendered_picture_is_what_the_code_before_it_prints():
    """A ```mermaid block right after a Python block (pictures.md) is that block's output."""
    checked = 0
    for path in sorted(DOCS.glob("*.md")):
        for code, picture in re.findall(r"```python\n(.*?)```[^`]*?```mermaid\n(.*?)```", path.read_text(), re.DOTALL):
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(compile(code, f"docs/{path.name}", "exec"), {"__name__": "docs_example"})
            assert output.getvalue().strip() == picture.strip(), path.name
            checked += 1
    assert checked >= 1
