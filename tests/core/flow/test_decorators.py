"""The @node decorator family (SPEC §1.2): every form, port derivation, argument handling, reprs
and definition order."""

from __future__ import annotations

import inspect
import re

import pytest

from flowno_core import DraftNode, FlowHDL, Stream, TerminateLimitReached, node
from flowno_core.errors import NodeConfigurationWarning
from flowno_core._graph.description.draft import Constant, OriginalCall

from .helpers import vflow


# ------------------------------------------------------------------------------------ functions
def test_single_output_function_wraps_the_return_value_in_a_one_tuple():
    @node
    async def Add(a: int, b: int = 1) -> int:
        return a + b

    with vflow() as f:
        f.two = Add(1)
        f.five = Add(f.two, 3)
        f.pair = Add((1, 2), (3,))  # a tuple result is wrapped too
    f.run_until_complete()
    assert f.two.get_data() == (2,)
    assert f.five.get_data() == (5,)
    assert f.pair.get_data() == ((1, 2, 3),)
    assert f.five.generation == (0,)


def test_port_derivation_from_the_signature():
    @node(stream_in=["b"])
    async def Three(a, b, c=7):
        return a

    assert Three._minimum_run_level == [0, 1, 0]
    with vflow():
        n = Three(1, 2)
    assert [p.minimum_run_level for p in n._input_ports.values()] == [0, 1, 0]
    assert not n._input_ports[0].has_default
    assert n._input_ports[2].default_value == 7


def test_async_generator_function_streams_single_output_chunks():
    @node
    async def Count(n: int):
        for i in range(n):
            yield i

    @node(stream_in=["xs"])
    async def Collect(xs: Stream[int]):
        return [x async for x in xs]

    with vflow() as f:
        f.count = Count(4)
        f.items = Collect(f.count)
        f.total = Collect(f.count)
    f.run_until_complete()
    assert f.items.get_data() == ([0, 1, 2, 3],)
    assert f.count.get_data() == (6,)  # chunks summed into the final value (D6)
    assert f.count.generation == (0,)


def test_stream_in_port_gets_a_stream_and_a_mono_consumer_gets_the_final_value():
    @node
    async def Words():
        yield "a"
        yield "b"

    seen = {}

    @node(stream_in=["words"])
    async def Shout(words):
        seen["type"] = type(words)
        seen["run_level"] = words.run_level
        out = []
        async for w in words:
            out.append(w.upper())
        return "".join(out)

    @node
    async def Whole(text: str):
        return text

    with vflow() as f:
        f.words = Words()
        f.shout = Shout(f.words)
        f.whole = Whole(f.words)
    f.run_until_complete()
    assert issubclass(seen["type"], Stream) and seen["run_level"] == 1
    assert f.shout.get_data() == ("AB",)
    assert f.whole.get_data() == ("ab",)


def test_multiple_outputs_function_and_output_refs():
    @node(multiple_outputs=True)
    async def DivMod(a: int, b: int):
        return a // b, a % b

    @node
    async def Show(q: int, r: int):
        return f"{q}r{r}"

    with vflow() as f:
        f.dm = DivMod(17, 5)
        f.show = Show(f.dm.output(0), f.dm.output(1))
        f.swapped = Show(f.dm.output(1), f.dm)  # a node argument means output 0
    f.run_until_complete()
    assert f.dm.get_data() == (3, 2)
    assert f.show.get_data() == ("3r2",)
    assert f.swapped.get_data() == ("2r3",)


def test_multiple_outputs_async_generator_yields_tuples():
    @node(multiple_outputs=True)
    async def Pairs():
        yield 1, "a"
        yield 2, "b"

    @node(stream_in=["s"])
    async def Second(s):
        return [x async for x in s]

    with vflow() as f:
        f.p = Pairs()
        f.letters = Second(f.p.output(1))
        f.numbers = Second(f.p.output(0))
    f.run_until_complete()
    assert f.letters.get_data() == (["a", "b"],)
    assert f.numbers.get_data() == ([1, 2],)
    assert f.p.get_data() == (3, "ab")


def test_accumulate_argument_replaces_the_builtin_rule():
    calls = []

    def keep_max(acc, chunk):
        calls.append((acc, chunk))
        return (max(acc[0], chunk[0]),)

    @node(accumulate=keep_max)
    async def Readings():
        for value in (3, 9, 4):
            yield value

    @node
    async def Report(x):
        return x

    with vflow() as f:
        f.r = Readings()
        f.report = Report(f.r)
    f.run_until_complete()
    assert f.r.get_data() == (9,)
    assert f.report.get_data() == (9,)
    assert calls == [((3,), (9,)), ((9,), (4,))]


def test_non_async_function_fails_at_run_time_with_flownos_message():
    with pytest.warns(NodeConfigurationWarning):  # accepted at decoration and build time, with a warning

        @node
        def Plain(x):
            return x

    with vflow() as f:
        f.p = Plain(1)
    with pytest.raises(TypeError, match=re.escape("Unexpected return type (must be async function)")):
        f.run_until_complete()


def test_keyword_arguments_are_rejected_at_build_time():
    @node
    async def Add(a, b=1):
        return a + b

    with vflow():
        with pytest.raises(TypeError, match="unexpected keyword argument") as known:
            Add(1, b=2)
        with pytest.raises(TypeError, match="unexpected keyword argument") as unknown:
            Add(1, c=2)
    # what to write instead
    assert known.value.__notes__ == ["hint: node inputs are positional: pass 'b' as argument 2 (Add(a, b))"]
    assert unknown.value.__notes__ == ["hint: Add has no parameter 'c'; its inputs, in order, are: a, b"]


def test_extra_positional_arguments_fail_only_when_the_node_runs():
    @node
    async def One(a):
        return a

    with vflow() as f:
        f.one = One(1, 2)  # accepted: the extra argument is just another (constant) input
    with pytest.raises(TypeError):
        f.run_until_complete()


def test_there_is_no_node_tuple():
    assert not hasattr(node, "tuple")


# ------------------------------------------------------------------------------------ classes
def test_stateful_class_node_keeps_state_and_shares_mutable_class_attributes():
    class Counter:
        count = 0
        history: list = []  # mutable: shared by every instance and the class (flowno keeps this)
        label = "c"

        def helper(self):  # callables are not copied as state
            return self.count

        async def call(self, step: int):
            self.count += step
            self.history.append(step)
            return self.helper()

    Node = node(Counter)
    assert Node.__name__ == "Counter__Stateful_Node"
    assert Node.__bases__ == (DraftNode, Counter)

    with vflow() as f:
        f.a = Node(1)
        f.b = Node(10)
    assert repr(f.a) == "Counter#0" and repr(f.b) == "Counter#1"
    f.run_until_complete()
    assert (f.a.get_data(), f.b.get_data()) == ((1,), (10,))
    f.run_until_complete()  # a re-run evaluates each node of an acyclic flow once more (D5)
    assert (f.a.get_data(), f.b.get_data()) == ((2,), (20,))
    assert (f.a.count, f.b.count) == (2, 20)  # state is per instance, read through the finalized node
    assert f.a.generation == (1,)
    assert Counter.count == 0  # the int was copied onto each instance
    assert f.a.label == "c"
    # the list is the same object everywhere
    assert f.a.history is f.b.history is Counter.history
    assert sorted(Counter.history) == [1, 1, 10, 10]


def test_stateful_counter_in_a_cycle_reads_and_writes_its_state():
    @node
    class Accumulate:
        total = 0

        async def call(self, x: int = 1):
            self.total += x
            return self.total

    with vflow() as f:
        f.acc = Accumulate(f.acc)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(4,))
    # 1, 1+1=2, 2+2=4, 4+4=8, 8+8=16
    assert f.acc.get_data() == (16,)
    assert f.acc.total == 16
    assert f.acc.generation == (4,)


def test_class_call_must_take_self_first():
    class Bad:
        async def call(this, x):
            return x

    with pytest.raises(ValueError, match="First parameter must be 'self'"):
        node(Bad)


def test_class_call_star_args_are_not_ports():
    @node
    class Star:
        async def call(self, a, b=2, *rest, **options):
            return (a, b, rest)

    assert Star._minimum_run_level == [0, 0]
    with vflow() as f:
        f.s = Star(1)
    f.run_until_complete()
    assert f.s.get_data() == ((1, 2, ()),)


def test_class_with_stream_in():
    @node
    async def Src():
        yield 1
        yield 2

    @node(stream_in=["xs"])
    class Summer:
        calls = 0

        async def call(self, xs):
            self.calls += 1
            return sum([x async for x in xs])

    with vflow() as f:
        f.src = Src()
        f.sum = Summer(f.src)
    f.run_until_complete()
    assert f.sum.get_data() == (3,)
    assert f.sum.calls == 1


def test_multiple_outputs_on_a_class_makes_a_multi_output_stateful_node():
    @node(multiple_outputs=True)
    class Split:
        calls = 0

        async def call(self, text: str):
            self.calls += 1
            head, _, tail = text.partition(" ")
            return head, tail

    @node
    async def Echo(x):
        return x

    with vflow() as f:
        f.split = Split("hello big world")
        f.tail = Echo(f.split.output(1))
    f.run_until_complete()
    assert f.split.get_data() == ("hello", "big world")
    assert f.tail.get_data() == ("big world",)
    assert f.split.calls == 1
    assert repr(f.split) == "Split#0"


def test_accumulate_streamed_data_method_on_a_class_overrides_the_builtin_rule():
    @node
    class Last:
        async def call(self):
            yield 1
            yield 2
            yield 3

        def accumulate_streamed_data(self, acc, part):
            return part

    with vflow() as f:
        f.last = Last()
    f.run_until_complete()
    assert f.last.get_data() == (3,)


# ------------------------------------------------------------------------------------ hand-written
async def _mul_call(self, a, b=10):  # pragma: no cover - only its signature is used
    ...


class Mul(DraftNode):
    _minimum_run_level = [0, 0]
    _default_values = {1: 3}  # wins over the signature's default of 10
    _original_call = OriginalCall(inspect.signature(_mul_call), _mul_call.__code__, "Mul")

    async def call(self, a, b=10):
        return (a * b,)


class Pow(DraftNode):
    _minimum_run_level = [0, 0]
    _original_call = OriginalCall(inspect.signature(_mul_call), _mul_call.__code__, "Pow")

    def call(self, a, b=2):  # no _default_values: defaults come from call's signature
        async def run():
            return (a**b,)

        return run()


class Chunks(DraftNode):
    _minimum_run_level = []
    _original_call = OriginalCall(inspect.signature(_mul_call), _mul_call.__code__, "Chunks")

    async def call(self):
        yield ("x",)
        yield ("y",)

    def accumulate_streamed_data(self, acc, part):
        return (acc[0] + "+" + part[0],)


class NotAsync(DraftNode):
    _minimum_run_level = []
    _original_call = OriginalCall(inspect.signature(_mul_call), _mul_call.__code__, "NotAsync")

    def call(self):
        return (1,)


def test_hand_written_draft_node_subclasses():
    with vflow() as f:
        f.m = Mul(4)
        f.m2 = Mul(4, 5)
        f.p = Pow(f.m)
        f.c = Chunks()
    assert repr(f.m) == "Mul#0" and repr(f.m2) == "Mul#1" and repr(f.p) == "Pow#0"
    f.run_until_complete()
    assert f.m.get_data() == (12,)
    assert f.m2.get_data() == (20,)
    assert f.p.get_data() == (144,)
    assert f.c.get_data() == ("x+y",)


def test_hand_written_call_returning_a_plain_value_is_a_type_error_naming_the_node():
    with vflow() as f:
        f.n = NotAsync()
    with pytest.raises(TypeError, match=r"NotAsync#\d+"):
        f.run_until_complete()


# ------------------------------------------------------------------------------------ reprs, order
def test_repr_uses_per_class_counters():
    @node
    async def Alpha(x=0):
        return x

    @node
    async def Beta(x=0):
        return x

    with vflow() as f:
        f.a0 = Alpha()
        f.b0 = Beta()
        f.a1 = Alpha(f.b0)
        f.b1 = Beta(f.a1)
    assert [repr(n) for n in (f.a0, f.b0, f.a1, f.b1)] == ["Alpha#0", "Beta#0", "Alpha#1", "Beta#1"]
    with vflow() as g:
        g.a2 = Alpha()
    assert repr(g.a2) == "Alpha#2"  # the counter is per class, not per flow


def test_constants_are_real_nodes_with_their_own_counter():
    @node
    async def Add(a, b):
        return a + b

    base = Constant._instance_counter
    with vflow() as f:
        f.sum = Add(1, 2)
        f.none = Add(f.sum, 0)
    constants = [n for n in f._flow.nodes if isinstance(n._draft_node, Constant)]
    assert [repr(c) for c in constants] == [f"Constant#{base + i}" for i in range(3)]
    f.run_until_complete()
    assert [c.get_data() for c in constants] == [(1,), (2,), (0,)]
    assert all(c.generation == (0,) for c in constants)
    assert f.none.get_data() == (3,)


def test_none_argument_is_a_constant_not_a_disconnection():
    seen = []

    @node
    async def Take(x=5):
        seen.append(x)
        return x

    with vflow() as f:
        f.t = Take(None)
    f.run_until_complete()
    assert seen == [None]
    assert f.t.get_data() == (None,)
    assert any(isinstance(n._draft_node, Constant) for n in f._flow.nodes)


def test_definition_order_places_a_node_before_its_constants():
    @node
    async def Add(a, b=1):
        return a + b

    @node
    async def Src():
        return 5

    with vflow() as f:
        f.x = Add(1, 2)
        f.y = Add(f.s, 3)
        f.s = Src()
    names = [type(n._draft_node).__name__ for n in f._flow.nodes]
    assert names == ["Add", "Constant", "Constant", "Add", "Constant", "Src"]
    assert f._flow.nodes[0] is f.x and f._flow.nodes[3] is f.y and f._flow.nodes[5] is f.s
    f.run_until_complete()
    assert (f.x.get_data(), f.y.get_data()) == ((3,), (8,))


def test_a_node_argument_inside_the_call_is_created_before_the_outer_node():
    @node
    async def Inc(a):
        return a + 1

    with vflow() as f:
        f.outer = Inc(Inc(Inc(0)))
    # arguments are evaluated by Python first: the innermost Inc is created first
    drafts = [n for n in f._flow.nodes if not isinstance(n._draft_node, Constant)]
    assert [n._instance_id for n in drafts] == sorted(n._instance_id for n in drafts)
    assert drafts[-1] is f.outer
    f.run_until_complete()
    assert f.outer.get_data() == (3,)


def test_keyword_arguments_are_rejected_for_class_nodes_too():
    @node
    class Keep:
        async def call(self, a, b=1):
            return a

    with vflow():
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            Keep(1, b=2)


class StreamSum(DraftNode):
    """A hand-written node with a streaming input (minimum run level 1 on port 0)."""

    _minimum_run_level = [1]
    _original_call = OriginalCall(inspect.signature(_mul_call), _mul_call.__code__, "StreamSum")

    async def call(self, xs):
        total = 0
        async for x in xs:
            total += x
        return (total,)


def test_hand_written_subclass_with_a_streaming_input():
    @node
    async def Nums():
        yield 1
        yield 2
        yield 3

    with vflow() as f:
        f.nums = Nums()
        f.total = StreamSum(f.nums)
    assert f.total._input_ports[0].minimum_run_level == 1
    f.run_until_complete()
    assert f.total.get_data() == (6,)


def test_stream_in_naming_no_parameter_warns_and_runs_as_flowno_did():
    with pytest.warns(NodeConfigurationWarning, match=r"names 'nope', but F has no parameter 'nope' \(its parameters: a\)") as caught:

        @node(stream_in=["nope"])
        async def F(a):
            return a

    assert caught[0].filename == __file__  # attributed to the decorator line, not to flowno_core
    with FlowHDL() as f:
        f.f = F(41)
    assert f.f._input_ports[0].minimum_run_level == 0  # the unknown name is ignored
    f.run_until_complete()
    assert f.f.get_data() == (41,)


def test_stream_in_given_as_a_string_warns_and_means_that_one_name():
    with pytest.warns(NodeConfigurationWarning, match=r"read as stream_in=\['xs'\]") as caught:

        @node(stream_in="xs")
        async def Total(xs: Stream[int], x: int = 0) -> int:
            return x + sum([value async for value in xs])

    assert caught[0].filename == __file__

    @node
    async def Nums():
        for i in range(4):
            yield i

    with FlowHDL() as f:
        f.nums = Nums()
        f.total = Total(f.nums)
    assert [f.total._input_ports[i].minimum_run_level for i in (0, 1)] == [1, 0]
    f.run_until_complete()
    assert f.total.get_data() == (6,)


def test_stream_in_on_a_class_is_checked_against_call_parameters():
    with pytest.warns(NodeConfigurationWarning, match=r"Acc has no parameter 'self'"):

        @node(stream_in=["self"])
        class Acc:
            async def call(self, xs):
                return xs


def test_a_plain_def_node_warns_where_it_is_written_and_still_fails_only_when_it_runs():
    with pytest.warns(NodeConfigurationWarning, match=r"write `async def Add\(\.\.\.\)`") as caught:

        @node
        def Add(a, b):
            return a + b

    assert caught[0].filename == __file__  # the warning points at the decorator line

    with vflow() as f:
        f.total = Add(1, 2)
    with pytest.raises(TypeError):
        f.run_until_complete()
