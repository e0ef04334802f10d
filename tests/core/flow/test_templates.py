"""Groups and templates (SPEC §4), including every "Required difference (fix)"."""

from __future__ import annotations

import pytest

from flowno_core import DraftGroupNode, FlowHDLView, TerminateLimitReached, current_node, node
from flowno_core._graph.description.draft import Constant
from flowno_core._graph.description.view_stack import view_stack

from .helpers import vflow


@node
async def Src() -> int:
    return 1


@node
async def Add(a: int, b: int = 1) -> int:
    return a + b


@node.template
def Plus(view: FlowHDLView, x, y=5):
    view.first = Add(x, y)
    return Add(view.first, 100)


@node.template
def Ident(view, x):
    return x


@node.template
def Twice(view, x):
    return Plus(Plus(x))


def _kinds(f):
    return [type(n._draft_node).__name__ for n in f._flow.nodes]


def test_template_defines_a_group_class_with_ports_and_defaults():
    assert issubclass(Plus, DraftGroupNode)
    with vflow() as f:
        group = Plus(f.src)
        assert isinstance(group, DraftGroupNode)
        assert repr(group).startswith("Plus#")
        assert group._input_ports[1].default_value == 5
        f.g = group
        f.src = Src()
    f.run_until_complete()
    assert f.g.get_data() == (106,)  # (1 + 5) + 100
    assert f.first.get_data() == (6,)


def test_the_template_receives_the_original_arguments():
    received = []

    @node.template
    def Spy(view, a, b, c):
        received.extend([a, b, c])
        return Add(a, 0)

    with vflow() as f:
        f.src = Src()
        f.g = Spy(f.src, f.later, 7)
        f.later = Src()
    a, b, c = received
    assert isinstance(a, Src)  # the draft itself, not the group's port
    assert type(b).__name__ == "NodePlaceholder" and b.name == "later"
    assert c == 7  # the constant argument, unwrapped
    f.run_until_complete()
    assert f.g.get_data() == (1,)


def test_no_trace_of_a_group_remains_at_run_time():
    with vflow() as f:
        f.src = Src()
        f.g = Plus(f.src)
        f.out = Add(f.g, 0)
    assert not any(isinstance(n._draft_node, DraftGroupNode) for n in f._flow.nodes)
    assert "Plus" not in _kinds(f)
    for n in f._flow.nodes:
        for port in n._input_ports.values():
            assert port.connected_output is None or not isinstance(port.connected_output.node._draft_node, DraftGroupNode)
        for consumers in n._connected_output_nodes.values():
            assert not any(isinstance(c._draft_node, DraftGroupNode) for c in consumers)
    # the namespace entry for the group is the finalized return node
    assert f.g is f.out._input_ports[0].connected_output.node
    f.run_until_complete()
    assert f.out.get_data() == (106,)
    assert all(type(n._draft_node).__name__ != "Plus" for n in f._flow.nodes)


def test_identity_group_returning_a_node_argument():
    with vflow() as f:
        f.s = Src()
        f.g = Ident(f.s)
        f.r = Add(f.g, 1)
    assert f.g is f.s
    f.run_until_complete()
    assert f.r.get_data() == (2,)


def test_returning_a_non_node_wraps_it_in_a_constant():
    with vflow() as f:
        f.g = Ident(5)
        f.r = Add(f.g, 1)
    assert isinstance(f.g._draft_node, Constant)
    f.run_until_complete()
    assert f.g.get_data() == (5,)
    assert f.r.get_data() == (6,)


def test_returning_none_is_a_type_error_naming_the_template():
    @node.template
    def Forgetful(view, x):
        Add(x, 1)  # no return

    with pytest.raises(TypeError, match="Forgetful"):
        with vflow() as f:
            f.g = Forgetful(1)
    assert view_stack() == []


def test_calling_a_template_outside_a_block_is_a_runtime_error_naming_it():
    with pytest.raises(RuntimeError) as info:
        Plus(1)
    assert "Plus" in str(info.value)
    assert "FlowHDL" in str(info.value)
    assert view_stack() == []


def test_forward_reference_into_a_template():
    with vflow() as f:
        f.g = Plus(f.later)
        f.also = Plus(f.later.output(0), f.later)
        f.later = Src()
    f.run_until_complete()
    assert f.g.get_data() == (106,)
    assert f.also.get_data() == (102,)


def test_forward_reference_to_a_name_assigned_inside_a_template():
    with vflow() as f:
        f.early = Add(f.first, 0)  # 'first' is assigned by the template below (names leak)
        f.g = Plus(2)
    f.run_until_complete()
    assert f.early.get_data() == (7,)


def test_undefined_forward_reference_through_a_template_still_fails_at_the_outermost_exit():
    with pytest.raises(AttributeError, match="^Node nowhere is referenced, but has not been defined."):
        with vflow() as f:
            f.g = Plus(f.nowhere)
    assert view_stack() == []


def test_names_leak_and_the_last_instantiation_wins():
    with vflow() as f:
        f.a = Plus(1)
        f.b = Plus(2)
    f.run_until_complete()
    assert f.first.get_data() == (7,)  # from the second instantiation
    assert (f.a.get_data(), f.b.get_data()) == ((106,), (107,))


def test_nested_templates_reuse_and_fan_out():
    with vflow() as f:
        f.g = Twice(2)  # Plus(Plus(2)) = ((2+5)+100+5)+100 = 212
        f.h = Plus(f.g, f.g)  # fed into another group twice: (212+212)+100
        f.fan1 = Add(f.g, 0)
        f.fan2 = Add(f.g, 1)
    f.run_until_complete()
    assert f.g.get_data() == (212,)
    assert f.h.get_data() == (524,)
    assert (f.fan1.get_data(), f.fan2.get_data()) == ((212,), (213,))
    assert not any(isinstance(n._draft_node, DraftGroupNode) for n in f._flow.nodes)


def test_group_node_call_raises():
    with vflow():
        group = Plus(1)
    coro = group.call()
    with pytest.raises(RuntimeError, match="Group nodes do not run"):
        coro.send(None)


def test_nodes_inside_a_template_see_their_own_finalized_node():
    seen = []

    @node
    async def WhoAmI(x):
        seen.append(current_node())
        return x

    @node.template
    def Wrap(view, x):
        view.inner = WhoAmI(x)
        return view.inner

    with vflow() as f:
        f.g = Wrap(3)
    f.run_until_complete()
    assert seen == [f.inner] and f.g is f.inner


def test_an_exception_in_a_nested_template_propagates_alone_and_restores_the_stack():
    @node.template
    def Inner(view, x):
        view.partial = Add(x, 1)
        raise ValueError("inner boom")

    @node.template
    def Outer(view, x):
        return Inner(Add(x, 2))

    with pytest.raises(ValueError, match="inner boom") as info:
        with vflow() as f:
            f.g = Outer(1)
    assert info.value.__context__ is None
    assert view_stack() == []
    with vflow() as g:  # later blocks work normally
        g.s = Src()
    g.run_until_complete()
    assert g.s.get_data() == (1,)


def test_a_template_exception_caught_inside_the_block_leaves_a_working_flow():
    @node.template
    def Inner(view, x):
        raise ValueError("boom")

    @node.template
    def Outer(view, x):
        return Inner(x)

    with vflow() as f:
        with pytest.raises(ValueError, match="boom"):
            f.g = Outer(1)
        f.x = Src()
    f.run_until_complete()
    assert f.x.get_data() == (1,)


def test_a_template_inside_a_cycle_through_forward_references():
    log = []

    @node
    async def Inc(x: int = 0):
        log.append(f"Inc({x})")
        return x + 1

    @node
    async def Dbl(x: int):
        log.append(f"Dbl({x})")
        return 2 * x

    @node.template
    def Step(view, x):
        return Inc(x)

    with vflow() as g:
        g.loop = Step(g.back)
        g.back = Dbl(g.loop)
    with pytest.raises(TerminateLimitReached):
        g.run_until_complete(stop_at_node_generation=(3,))
    assert log == ["Inc(0)", "Dbl(1)", "Inc(2)", "Dbl(3)", "Inc(6)", "Dbl(7)", "Inc(14)"]
    assert g.loop.generation == (3,) and g.loop.get_data() == (15,)


def test_forward_references_to_a_group_and_to_one_of_its_outputs():
    @node(multiple_outputs=True)
    async def Two(x):
        return x, x * 10

    @node.template
    def TwoT(view, x):
        return Two(x)

    @node.template
    def NoInputs(view):
        return Add(1, 1)

    with vflow() as f:
        f.x = Add(f.g, 1)
        f.g = Plus(2)
        f.y = Add(f.t.output(1), 0)
        f.t = TwoT(3)
        f.z = NoInputs()
    f.run_until_complete()
    assert f.x.get_data() == (108,)
    assert f.y.get_data() == (30,)
    assert f.t.get_data() == (3, 30)
    assert f.z.get_data() == (2,)


def test_template_keyword_arguments_are_rejected():
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        with vflow() as f:
            f.p = Plus(1, y=2)
    assert view_stack() == []


def test_a_template_that_catches_a_nested_template_error_still_builds():
    @node.template
    def Failing(view, x):
        raise ValueError("nested failure")

    @node.template
    def Tolerant(view, x):
        try:
            Failing(x)
        except ValueError:
            pass
        return Add(x, 1)

    with vflow() as f:
        f.t = Tolerant(1)
    assert not any(isinstance(n._draft_node, DraftGroupNode) for n in f._flow.nodes)
    f.run_until_complete()
    assert f.t.get_data() == (2,)
