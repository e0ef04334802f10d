"""flowno_nodes' facades: explicit ``__all__`` lists that resolve, and documented public nodes."""

from __future__ import annotations

import inspect

import flowno_nodes
import flowno_nodes.connectors as connectors
import flowno_nodes.operators as operators
from flowno_core import DraftNode, FlowHDL
from flowno_nodes import ChatCompletion, FileLines, FileWriter, HttpGet, HttpPost, SSESource

NODES = [HttpGet, HttpPost, SSESource, ChatCompletion, FileLines, FileWriter]


def test_all_lists_resolve():
    for module in (flowno_nodes, connectors, operators):
        assert len(set(module.__all__)) == len(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None, f"{module.__name__}.{name}"
    assert set(flowno_nodes.__all__) == (set(connectors.__all__) - {"DEFAULT_TIMEOUT"}) | set(operators.__all__)
    for name in flowno_nodes.__all__:
        home = connectors if name in connectors.__all__ else operators
        assert getattr(flowno_nodes, name) is getattr(home, name)


def test_operator_names_shadow_no_builtin():
    import builtins

    assert not set(operators.__all__) & set(dir(builtins))


def test_nodes_are_node_classes_with_documented_parameters():
    for cls in NODES:
        assert issubclass(cls, DraftNode)
        doc = inspect.getdoc(cls) or ""
        assert "Example::" in doc and "Args:" in doc, cls.__name__
        for parameter in inspect.signature(cls).parameters:
            assert f"{parameter}:" in doc, f"{cls.__name__} does not document {parameter}"


def test_keywords_and_positions_build_the_same_ports():
    with FlowHDL() as f:
        f.a = HttpGet("http://127.0.0.1:1/x", None, 5.0)
        f.b = HttpGet("http://127.0.0.1:1/x", timeout=5.0)
    assert repr(f.a).startswith("HttpGet#") and repr(f.b).startswith("HttpGet#")
    assert sorted(f.a._input_ports) == sorted(f.b._input_ports) == [0, 1, 2]
