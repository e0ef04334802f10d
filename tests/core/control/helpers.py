"""Helpers shared by the checkpoint tests."""

from __future__ import annotations

import struct
from typing import Any

from flowno_core._graph.control.checkpoint import Saved


def assert_same(got: Any, expected: Any, where: str = "value") -> None:
    """``got == expected`` with exact types, and floats compared bit for bit (nan, -0.0)."""
    assert type(got) is type(expected), f"{where}: {type(got).__name__} instead of {type(expected).__name__}"
    if isinstance(expected, float):
        assert struct.pack("<d", got) == struct.pack("<d", expected), f"{where}: {got!r} instead of {expected!r}"
    elif isinstance(expected, (list, tuple)):
        assert len(got) == len(expected), f"{where}: {got!r} instead of {expected!r}"
        for index, (item, wanted) in enumerate(zip(got, expected)):
            assert_same(item, wanted, f"{where}[{index}]")
    elif isinstance(expected, dict):
        assert list(got) == list(expected), f"{where}: keys {list(got)!r} instead of {list(expected)!r}"
        for key in expected:
            assert_same(got[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, Saved):
        assert_same((got.node_label, got.generation, got.outputs), (expected.node_label, expected.generation, expected.outputs), where)
    else:
        assert got == expected, f"{where}: {got!r} instead of {expected!r}"
