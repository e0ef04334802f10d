"""The docs site builds with ``mkdocs build --strict``, and every page and public name is in it.

Strict mode turns every warning into a failure: a broken link or anchor, a page left out of the
nav, a docstring mkdocstrings cannot parse (a malformed ``Raises:`` section, say), a ``:::``
directive naming something that does not exist. The build takes a few seconds.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

needs_mkdocs = pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None and not os.environ.get("CI"),
    reason="the docs extra is not installed (pip install -e '.[docs]')",
)


def nav_pages() -> set[str]:
    return set(re.findall(r":\s*([\w./-]+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE))


def documented_names() -> set[str]:
    names = set()
    for page in (DOCS / "api").glob("*.md"):
        names.update(re.findall(r"^::: ([\w.]+)", page.read_text(), re.MULTILINE))
    return names


def test_every_page_is_in_the_nav():
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert pages == nav_pages()


@pytest.mark.parametrize(
    "module",
    ["flowno_core", "flowno_core.lowlevel", "flowno_core.testing", "flowno_core.io", "flowno_nodes"],
)
def test_every_public_name_has_an_api_entry(module):
    names = documented_names()
    missing = [
        name
        for name in importlib.import_module(module).__all__
        if f"{module}.{name}" not in names and not any(entry.endswith(f".{name}") for entry in names)
    ]
    assert not missing, f"add these to docs/api/: {missing}"


def test_docs_cite_nothing_outside_the_repository():
    """design.md and the guides explain their decisions in words, not by a document's numbers."""
    cited = re.compile(r"SPEC|§|\bD\d{1,2}\b|\bissue \d+|DESIGN\.md|shared/")
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(DOCS.rglob("*.md"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if cited.search(line)
    ]
    assert not found, "\n".join(found)


def test_concepts_lifecycle_table_names_every_node_phase():
    """docs/concepts.md describes the node table in words: one row per phase of ``NODE_TABLE``."""
    from flowno_core._graph.rules.lifecycle import NODE_TABLE

    rows = re.findall(r"^\| (\w+) \| (yes|no) \|", (DOCS / "concepts.md").read_text(), re.MULTILINE)
    assert [(label, busy == "yes") for label, busy in rows] == [(phase.label, phase.busy) for phase in NODE_TABLE]


@needs_mkdocs
def test_site_builds_strictly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "api" / "flowno_core" / "index.html").is_file()
    reference = (tmp_path / "site" / "api" / "flowno_core" / "index.html").read_text()
    assert 'id="flowno_core.FlowHDL"' in reference
    assert 'id="flowno_core.Inlet"' in reference  # a name flowno_core imports on first use
