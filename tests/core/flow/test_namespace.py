"""FlowHDL / FlowHDLView namespace rules (SPEC §1.3): forward references, placeholders, `_` names,
reserved names, the three finalization errors, unknown names after finalization, anonymous nodes
and nodes created outside a block."""

from __future__ import annotations

import logging

import pytest

from flowno_core import DraftNode, FlowHDL, FlowHDLView, NodePlaceholder, node
from flowno_core._graph.description.draft import Constant
from flowno_core._graph.description.finalized import FinalizedNode

from .helpers import vflow


@node
async def Add(a: int, b: int) -> int:
    return a + b


@node
async def Src() -> int:
    return 5


@node(multiple_outputs=True)
async def Pair(x: int = 0):
    return x, x * 10


def test_forward_references_resolve_at_block_exit():
    with vflow() as f:
        placeholder = f.total
        assert isinstance(placeholder, NodePlaceholder)
        f.total = Add(f.a, f.b)
        f.a = Add(1, 2)
        f.b = Src()
    assert isinstance(f.total, FinalizedNode)
    f.run_until_complete()
    assert f.total.get_data() == (8,)


def test_placeholder_output_k_is_a_forward_reference_to_that_output():
    with vflow() as f:
        f.sum = Add(f.pair.output(1), f.pair.output(0))
        f.second = Add(f.pair.output(1), 0)
        f.pair = Pair(3)
    f.run_until_complete()
    assert f.pair.get_data() == (3, 30)
    assert f.sum.get_data() == (33,)
    assert f.second.get_data() == (30,)


def test_reading_a_defined_name_inside_the_block_returns_the_draft():
    with vflow() as f:
        f.a = Src()
        assert isinstance(f.a, DraftNode)
        f.v = 7
        assert f.v == 7  # a plain value is just stored
        f.x = Add(f.a, f.v)  # ... and passed as a constant
    f.run_until_complete()
    assert f.x.get_data() == (12,)
    assert f.v == 7


def test_a_forward_reference_resolves_to_the_last_binding_of_the_name():
    @node
    async def Tag(label: str):
        return label

    with vflow() as f:
        f.out = Add(f.n, 0)
        f.n = Tag(1)
        f.n = Tag(2)
    f.run_until_complete()
    assert f.out.get_data() == (2,)


def test_underscore_names_are_ordinary_attributes():
    with vflow() as f:
        f._scratch = [1, 2]
        assert f._scratch == [1, 2]
        with pytest.raises(AttributeError):
            f._undefined  # no placeholder for private names
        f.x = Src()
    assert f._scratch == [1, 2]
    assert "_scratch" not in f._nodes


def test_reserved_names_stay_the_methods():
    with vflow() as f:
        assert callable(f.run_until_complete)
        assert callable(f.create_task)
        assert callable(f.register_child_result)
        assert "run_until_complete" in f.KEYWORDS and "create_task" in f.KEYWORDS
        f.x = Src()
    assert f.run_until_complete.__func__ is FlowHDL.run_until_complete
    assert f.create_task.__func__ is FlowHDL.create_task
    assert set(FlowHDL.KEYWORDS) >= {"KEYWORDS", "run_until_complete", "create_task", "register_child_result"}


def test_undefined_forward_reference_is_an_attribute_error_naming_it():
    with pytest.raises(AttributeError) as info:
        with vflow() as f:
            f.x = Add(f.missing_node, 1)
    assert str(info.value).startswith("Node missing_node is referenced, but has not been defined.")


def test_forward_reference_to_a_non_node_is_an_attribute_error():
    with pytest.raises(AttributeError) as info:
        with vflow() as f:
            f.x = Add(f.value, 1)
            f.value = 5
    assert str(info.value).startswith("Attribute value is not a DraftNode.")


def test_unconnected_input_without_default_is_an_attribute_error_naming_node_and_port():
    with pytest.raises(AttributeError) as info:
        with vflow() as f:
            f.x = Add(1)
    message = str(info.value)
    assert message.startswith(f"{f._nodes['x']!r}.input(1) is not connected and has no default value")
    assert repr(f._nodes["x"]).startswith("Add#")


def test_unknown_name_after_finalization():
    with vflow() as f:
        f.a = Src()
    with pytest.raises(AttributeError) as info:
        f.nothing_here
    assert str(info.value) == 'Attribute "nothing_here" not found'


def test_anonymous_nodes_are_registered_and_run():
    ran = []

    @node
    async def Note(text: str):
        ran.append(text)

    with vflow() as f:
        f.x = Add(Src(), 1)  # the Src draft has no name
        Note("side effect")  # neither has this one, and nothing consumes it
    f.run_until_complete()
    assert f.x.get_data() == (6,)
    assert ran == ["side effect"]
    names = sorted(type(n._draft_node).__name__ for n in f._flow.nodes)
    assert names == ["Add", "Constant", "Constant", "Note", "Src"]


def test_node_created_outside_a_block_logs_a_warning_and_is_not_finalized(caplog):
    with caplog.at_level(logging.WARNING, logger="flowno_core"):
        lone = Src()
    assert any(repr(lone) in record.getMessage() for record in caplog.records)
    assert isinstance(lone, DraftNode)
    with vflow() as f:
        f.x = Src()
    assert all(n._draft_node is not lone for n in f._flow.nodes)


def test_an_exception_in_the_block_propagates_and_leaves_no_open_view():
    with pytest.raises(ZeroDivisionError):
        with vflow() as f:
            f.x = Src()
            1 / 0
    with vflow() as g:
        g.y = Src()
    assert len(g._flow.nodes) == 1
    g.run_until_complete()
    assert g.y.get_data() == (5,)


def test_flowhdlview_without_a_flow_hands_finalized_nodes_to_its_callback():
    registered = []
    with FlowHDLView(registered.append) as view:
        view.total = Add(view.a, 2)
        view.a = Src()
    assert [type(n._draft_node) for n in registered] == [type(view.total._draft_node), Constant, type(view.a._draft_node)]
    assert registered[0] is view.total and registered[2] is view.a
    assert view.total._input_ports[0].connected_output.node is view.a


def test_finalized_nodes_delegate_unknown_attributes_to_the_draft():
    @node
    class Box:
        content = "empty"

        async def call(self):
            self.content = "full"
            return 1

    with vflow() as f:
        f.box = Box()
    assert f.box.content == "empty"
    f.box.content = "set from outside"
    assert f.box._draft_node.content == "set from outside"
    f.run_until_complete()
    assert f.box.content == "full"


def test_a_hand_built_flow_from_a_view_ignores_duplicate_registrations():
    from flowno_core import Flow

    flow = Flow()
    with FlowHDLView(flow.add_node) as view:
        view.a = Src()
        view.b = Add(view.a, view.a)
    assert len(flow.nodes) == 2
    flow.add_node(view.a)
    flow.add_nodes([view.a, view.b])
    assert flow.nodes == [view.a, view.b]
    flow.run_until_complete()
    assert view.b.get_data() == (10,)
