"""Every node of the library carries a docstring example, and every example runs as a doctest."""

from __future__ import annotations

import doctest
import importlib

import pytest

import flowno_nodes.operators as operators

MODULES = ["sources", "transform", "combine", "aggregate", "timing", "control"]


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_of_a_module_pass(name: str) -> None:
    module = importlib.import_module(f"flowno_nodes.operators.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", [name for name in operators.__all__ if name != "StreamTimeout"])
def test_every_node_has_an_example(name: str) -> None:
    doc = getattr(operators, name).__doc__ or ""
    assert ">>> " in doc and "run_until_complete()" in doc, f"{name} has no runnable example"
