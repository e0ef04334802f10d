"""docs/connectors.md: its Python blocks run in order in one namespace (the page says so), and each
``print(...)  # expected`` line prints what its comment says (the text before `` -- ``)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def expected_lines(block: str) -> list[str]:
    expected = []
    for line in block.splitlines():
        match = re.match(r"\s*print\(.*\)\s+#\s+(.*)$", line)
        if match:
            expected.append(match.group(1).split(" -- ")[0].strip())
    return expected


def test_the_how_to_runs_and_prints_what_it_says(monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "FLOWNO_LLM_API_KEY",
                 "FLOWNO_LLM_BASE_URL", "FLOWNO_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    assert len(BLOCKS) >= 7
    assert "shutdown()" in BLOCKS[-1]
    namespace: dict[str, object] = {"__name__": "docs_connectors"}
    try:
        for index, block in enumerate(BLOCKS):
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                exec(compile(block, f"{DOC}[block {index}]", "exec"), namespace)
            printed = output.getvalue().splitlines()
            wanted = expected_lines(block)
            assert len(printed) == len(wanted), (index, printed, wanted)
            for line, expectation in zip(printed, wanted):
                assert line.startswith(expectation), (index, line, expectation)
    finally:
        shutdown = namespace.get("shutdown")
        if callable(shutdown) and index < len(BLOCKS) - 1:
            shutdown()
