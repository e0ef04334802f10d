"""Code written for flowno 0.1.19 keeps working: generic node types, hand-written DraftNode
subclasses, flowno's error texts at the start of our messages, and the small hooks flowno code
calls (``_blank_finalized``, ``FlowHDLView.register_node``).

Found by running flowno's own tests against flowno_core; each test here states the behaviour in
our own words.
"""

from __future__ import annotations

import inspect
import logging
import typing

import pytest

from flowno_core import (
    DraftGroupNode,
    DraftNode,
    FinalizedNode,
    Flow,
    FlowHDL,
    FlowHDLView,
    NodeExecutionError,
    NodePlaceholder,
    TerminateLimitReached,
    node,
    spawn,
)
from flowno_core._graph.description.draft import Constant
from flowno_core.lowlevel import OutputPortRefPlaceholder

from .helpers import vflow


# ------------------------------------------------------------------------------------ generics
def test_draft_node_is_generic_over_inputs_and_output_tuple_like_flownos():
    assert len(DraftNode.__parameters__) == 2  # (*inputs, output tuple)
    assert DraftNode[int].__args__ == (int,)  # a node without inputs producing int
    assert DraftNode[int, tuple[int]].__args__ == (int, tuple[int])
    assert DraftNode[int, str, tuple[float]].__args__ == (int, str, tuple[float])
    assert len(FinalizedNode.__parameters__) == 2
    assert FinalizedNode[int, tuple[int]].__origin__ is FinalizedNode
    assert len(DraftGroupNode.__parameters__) == 1  # its inputs; the output is tuple[Any, ...]
    assert len(Constant.__parameters__) == 1  # the constant's type


def test_a_draft_node_return_annotation_evaluates_at_run_time():
    @node
    async def Double(x: int) -> int:
        return 2 * x

    @node.template
    def Quadruple(f: FlowHDLView, x: int) -> DraftNode[int]:
        f.twice = Double(x)
        return Double(f.twice)

    hints = typing.get_type_hints(Quadruple.original_func)  # evaluates `DraftNode[int]`
    assert hints["return"] == DraftNode[int]
    with vflow() as f:
        f.out = Quadruple(3)
    f.run_until_complete()
    assert f.out.get_data() == (12,)


class Increment(DraftNode[int, tuple[int]]):
    """A hand-written node in flowno's style: generic base, ``call`` returns a tuple."""

    _minimum_run_level = [0]

    async def call(self, x: int = 0) -> tuple[int]:
        return (x + 1,)


def test_hand_written_generic_subclass_runs_in_a_flow():
    with vflow() as f:
        f.count = Increment(f.count)  # a cycle, started by the default of x
        f.next = Increment(f.count)
    assert isinstance(f.count, FinalizedNode) and repr(f.count) == "Increment#0"
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(2,))
    assert f.count.generation == (2,)
    assert f.count.get_data() == (3,)
    assert f.next.get_data() in ((3,), (4,))


def test_generic_bases_add_no_metaclass_and_no_per_instance_state():
    assert type(DraftNode) is type and type(Increment) is type  # plain isinstance, no ABCMeta
    with vflow() as f:
        f.one = Increment(1)
        draft = f.one
    assert not hasattr(draft, "__orig_class__")
    assert not hasattr(f.one, "__orig_class__")


# ------------------------------------------------------------------------------------ abstract call
def test_a_subclass_without_call_cannot_be_instantiated():
    class NoCall(DraftNode):
        _minimum_run_level = []

    assert inspect.isabstract(NoCall) and inspect.isabstract(DraftNode)
    with vflow():
        with pytest.raises(TypeError, match="Can't instantiate abstract class NoCall"):
            NoCall()
        with pytest.raises(TypeError, match="abstract method call"):
            DraftNode()


def test_an_abstract_intermediate_base_is_fine_once_call_is_defined():
    class Base(DraftNode[tuple[int]]):
        _minimum_run_level = []

    class One(Base):
        async def call(self) -> tuple[int]:
            return (1,)

    assert inspect.isabstract(Base) and not inspect.isabstract(One)
    with vflow() as f:
        f.one = One()
    f.run_until_complete()
    assert f.one.get_data() == (1,)


def test_node_classes_say_which_kind_of_node_they_are():
    @node
    async def Plain():
        return 1

    @node
    class Stateful:
        async def call(self):
            return 1

    assert Plain._is_function_node and not Plain._is_stateful_node
    assert Stateful._is_stateful_node and not Stateful._is_function_node
    assert not Increment._is_function_node and not Increment._is_stateful_node  # hand-written


# ------------------------------------------------------------------------------------ _blank_finalized
def test_blank_finalized_gives_an_unconnected_finalized_node_for_its_data():
    @node
    async def Chars():
        yield "a"

    blank = Chars()._blank_finalized()  # outside a block, as flowno's tests do (logs a warning)
    assert isinstance(blank, FinalizedNode) and repr(blank) == repr(blank._draft_node)
    assert blank.generation is None and blank.get_data() is None
    blank.push_data(("0",), run_level=1)
    blank.push_data(("1",), run_level=1)
    assert blank.generation == (0, 1) and blank.get_data(1) == ("1",) and blank.get_data(0) is None
    blank.push_data(("01",))
    assert blank.generation == (0,) and blank.get_data() == ("01",)


def test_blank_finalized_node_runs_in_a_hand_built_flow():
    log: list[str] = []

    @node
    async def Main():
        async def helper():
            log.append("helper")
            return 2

        handle = await spawn(helper())
        return 40 + await handle.join()

    flow = Flow()
    main = Main()._blank_finalized()
    flow.add_node(main)
    flow.run_until_complete()
    assert main.get_data() == (42,) and log == ["helper"]


# ------------------------------------------------------------------------------------ flowno's texts
# (current_context()'s three messages: test_cleanup_context.py)
def test_node_execution_error_default_text_is_flownos():
    with vflow() as f:
        f.inc = Increment(1)
    error = NodeExecutionError(f.inc)
    assert str(error) == f"Exception in node {f.inc!r}" and error.node is f.inc
    assert str(error).startswith("Exception in node Increment#")
    assert str(NodeExecutionError(f.inc, "custom")) == "custom"


def test_a_template_called_outside_a_block_starts_with_flownos_group_text():
    @node.template
    def Wrap(f: FlowHDLView, x: int) -> DraftNode[int]:
        return Increment(x)

    with pytest.raises(RuntimeError) as raised:
        Wrap(1)
    assert str(raised.value).startswith("A group node must be defined within a FlowHDL context")
    assert "Wrap" in str(raised.value)


def test_group_nodes_do_not_run_with_flownos_text():
    @node.template
    def Wrap(f: FlowHDLView, x: int) -> DraftNode[int]:
        return Increment(x)

    with vflow():
        group = Wrap(1)
    coroutine = group.call(1)
    with pytest.raises(RuntimeError, match="^Group nodes do not run$"):
        coroutine.send(None)


# ------------------------------------------------------------------------------------ placeholders, hooks
def test_placeholders_compare_by_value_as_in_flowno_and_stay_hashable():
    with FlowHDL() as f:
        later = f.later
        assert later == NodePlaceholder("later") and later is not f.later
        assert later.output(1) == f.later.output(1) != f.later.output(0)
        assert isinstance(later.output(1), OutputPortRefPlaceholder)
        assert len({later, f.later, f.other}) == 2
        assert len({later.output(0), f.later.output(0)}) == 1
        f.later = Increment(0)


def test_flowhdlview_register_node_registers_with_the_innermost_block(caplog):
    with FlowHDL() as f:
        f.a = Increment(1)
        extra = Increment(2)
        f._drafts.remove(extra)
        FlowHDLView.register_node(extra)  # the class-level hook flowno's DraftNode calls
        assert f._drafts[-1] is extra
        assert isinstance(f.register_node, NodePlaceholder)  # on an instance it is a name, as in flowno
    assert any(n._draft_node is extra for n in f._flow.nodes)  # finalized with the block
    lone = Increment(3)  # created outside any block: only a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="flowno_core"):
        FlowHDLView.register_node(lone)
    assert any(repr(lone) in record.getMessage() for record in caplog.records)
