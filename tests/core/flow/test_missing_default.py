"""MissingDefaultError (SPEC §2.9): the exact message shape, the static check before any node runs
(D16, ``flow.check()``), and the single-port form raised while gathering inputs (D3)."""

from __future__ import annotations

import pytest

from flowno_core import MissingDefaultError, TerminateLimitReached, node

from .helpers import vflow

HEADER = (
    "Detected a cycle without default values. You must add defaults to the indicated arguments "
    "for at least ONE of the following nodes:\n"
)

_SOURCE = open(__file__).read().splitlines()


def line_of(marker: str, offset: int = 0) -> int:
    """1-based line number of the (unique) source line containing ``marker``, plus ``offset``."""
    hits = [i for i, line in enumerate(_SOURCE, 1) if marker in line and "line_of(" not in line]
    assert len(hits) == 1, (marker, hits)
    return hits[0] + offset


def block(name: str, line: int, *signature: str) -> str:
    return (
        f"  {name} must have defaults for EACH/ALL the underlined parameters:\n"
        f"  Defined at {__file__}:{line}\n"
        "  Full Signature:\n" + "\n".join(signature)
    )


ran: list[str] = []


@node
async def Increment(value: int):
    ran.append("Increment")
    return value + 1


@node
async def Double(value):
    ran.append("Double")
    return value * 2


@node
class Keep:
    async def call(self, a: int, b: str = "x"):
        ran.append("Keep")
        return a


@node
async def Mix(a: int, b: str = "x", c=3, d: list[int] = None):
    ran.append("Mix")
    return a


@node
async def Source():
    ran.append("Source")
    return 1


INCREMENT = block(
    "Increment#{}",
    line_of("async def Increment(value: int):", -1),
    "  async def Increment(value: int)",
    "                      ---------- ",
)
DOUBLE = block(
    "Double#{}",
    line_of("async def Double(value):", -1),
    "  async def Double(value: Any)",
    "                   ---------- ",
)
KEEP = block(
    "Keep#{}",
    line_of('async def call(self, a: int, b: str = "x"):'),
    "  class Keep:",
    "      async def call(self, a: int, b: str = x): ...",
    "                           ------            ",
)
MIX = block(
    "Mix#{}",
    line_of('async def Mix(a: int, b: str = "x"', -1),
    "  async def Mix(a: int, b: str = x, c: Any = 3, d: list[int] = None)",
    "                ------                                              ",
)


def _fill(template: str, node) -> str:
    return template.format(node._instance_id)


@pytest.fixture(autouse=True)
def _clear_ran():
    ran.clear()


def test_two_node_cycle_message_is_exact_and_raised_before_any_node_runs():
    with vflow() as f:
        f.src = Source()
        f.inc = Increment(f.dbl)
        f.dbl = Double(f.inc)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert str(info.value) == HEADER + _fill(INCREMENT, f.inc) + "\nOR\n" + _fill(DOUBLE, f.dbl)
    assert ran == []  # D16: not even the independent source ran
    assert all(n.generation is None for n in f._flow.nodes)


def test_blocks_follow_definition_order_and_underline_only_in_cycle_ports_without_defaults():
    with vflow() as f:
        f.inc = Increment(f.dbl)
        f.dbl = Double(f.keep)
        f.keep = Keep(f.mix)
        f.mix = Mix(f.inc, "y", 4, f.inc)  # port 3 is in the cycle but has a default
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    expected = HEADER + "\nOR\n".join(
        [_fill(INCREMENT, f.inc), _fill(DOUBLE, f.dbl), _fill(KEEP, f.keep), _fill(MIX, f.mix)]
    )
    assert str(info.value) == expected
    assert ran == []


def test_definition_order_not_name_order():
    with vflow() as f:
        f.dbl = Double(f.inc)  # Double defined first this time
        f.inc = Increment(f.dbl)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert str(info.value) == HEADER + _fill(DOUBLE, f.dbl) + "\nOR\n" + _fill(INCREMENT, f.inc)


def test_self_loop_without_default():
    with vflow() as f:
        f.n = Increment(f.n)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert str(info.value) == HEADER + _fill(INCREMENT, f.n)


def test_check_reports_without_running_and_is_repeatable():
    with vflow() as f:
        f.src = Source()
        f.inc = Increment(f.dbl)
        f.dbl = Double(f.inc)
    problems = f._flow.check()
    assert len(problems) == 1 and isinstance(problems[0], MissingDefaultError)
    assert str(problems[0]) == HEADER + _fill(INCREMENT, f.inc) + "\nOR\n" + _fill(DOUBLE, f.dbl)
    assert f._flow.check()[0].args == problems[0].args
    assert ran == []
    assert all(n.generation is None for n in f._flow.nodes)


def test_check_of_a_good_flow_is_empty():
    @node
    async def Inc(x: int = 0):
        return x + 1

    with vflow() as f:
        f.a = Inc(f.b)
        f.b = Double(f.a)
        f.s = Source()
    assert f._flow.check() == []
    assert ran == []


def test_a_cycle_left_unbreakable_after_its_first_breaker_is_reported():
    @node
    async def Starter(x: int = 0):
        ran.append("Starter")
        return x

    @node
    async def Two(a: int, c: int):
        ran.append("Two")
        return a

    with vflow() as f:
        f.c = Increment(f.two)  # C <- Two, Two <- C: a cycle without defaults inside a larger one
        f.starter = Starter(f.c)
        f.two = Two(f.starter, f.c)
    problems = f._flow.check()
    assert len(problems) == 1
    message = str(problems[0])
    assert message.startswith(HEADER + _fill(INCREMENT, f.c) + "\nOR\n  " + repr(f.two) + " must have defaults")
    assert "Starter" not in message
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert str(info.value) == message
    assert ran == []


def test_the_same_cycle_with_one_default_runs():
    @node
    async def Inc(x: int = 0):
        ran.append("Inc")
        return x + 1

    with vflow() as f:
        f.b = Double(f.a)
        f.a = Inc(f.b)
    assert f._flow.check() == []
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (1,)})
    assert ran == ["Inc", "Double", "Inc"]


# ------------------------------------------------------------------------------------ gather time (D3)
@node
async def Empty():
    if False:
        yield 1


@node
async def Use(x):
    ran.append("Use")
    return x


USE = block(
    "Use#{}",
    line_of("async def Use(x):", -1),
    "  async def Use(x: Any)",
    "                ------ ",
)


def test_single_port_form_when_a_streaming_producer_ends_with_no_value():
    with vflow() as f:
        f.empty = Empty()
        f.use = Use(f.empty)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert str(info.value) == _fill(USE, f.use)  # the block without the header line
    assert ran == []
    assert f.empty.generation == (0,) and f.empty.get_data() is None


def test_a_default_is_used_when_the_producer_ends_with_no_value():
    @node
    async def UseOr(x: int = 7):
        return x

    with vflow() as f:
        f.empty = Empty()
        f.use = UseOr(f.empty)
    f.run_until_complete()
    assert f.use.get_data() == (7,)


def test_check_reports_an_unconnected_input_without_default():
    # FlowHDL refuses such a port at block exit; a flow assembled by hand can still have one
    from flowno_core import Flow, FlowHDLView

    flow = Flow()
    with FlowHDLView(flow.add_node) as view:
        view.src = Source()
        view.use = Use(view.src)
    view.use._input_ports[0].connected_output = None  # assembled by hand: disconnected again
    problems = flow.check()
    assert len(problems) == 1 and isinstance(problems[0], AttributeError)
    assert str(problems[0]) == f"{view.use!r}.input(0) is not connected and has no default value"
    assert ran == []
    with pytest.raises(MissingDefaultError) as info:  # at run time: the single-port form (D3)
        flow.run_until_complete()
    assert str(info.value) == _fill(USE, view.use)
