"""Every ```python block of docs/server-production.md runs (each talks only to loopback)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowno_core.io import ServerLimits

DOC = Path(__file__).resolve().parents[3] / "docs" / "server-production.md"
TEXT = DOC.read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)


def test_the_page_has_examples_and_lists_every_limit_with_its_default():
    assert len(BLOCKS) >= 3
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", TEXT, flags=re.M))
    defaults = ServerLimits()
    for name in defaults.__dataclass_fields__:
        assert name in rows, f"docs/server-production.md does not list the limit {name}"
        shown = rows[name].strip()
        value = getattr(defaults, name)
        expected = {16 * 1024: "16 KiB", 1024 * 1024: "1 MiB"}.get(value, f"{value:g} s" if name.endswith("timeout") else str(value))
        assert shown == expected, f"{name}: the page says {shown!r}, the default is {value!r}"


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_docs_server_production_example_runs(index):
    code = compile(BLOCKS[index], f"{DOC}:block{index}", "exec")
    exec(code, {"__name__": f"docs_server_production_block_{index}"})
