"""Accumulation of streamed chunks into a stream's final value (SPEC §3.5, §3.6, D6, §0.2 D6)."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from flowno_core import DraftNode, MissingDefaultError, TerminateLimitReached, node

from .helpers import vflow


def run_stream(chunks: list[Any], multiple_outputs: bool = False) -> Any:
    """Run a streaming node yielding ``chunks`` with a level-0 consumer; return (final, consumed)."""
    if multiple_outputs:

        @node(multiple_outputs=True)
        async def Producer():
            for chunk in chunks:
                yield chunk

    else:

        @node
        async def Producer():
            for chunk in chunks:
                yield chunk

    @node
    async def Final(value: Any = "no final value"):
        return value

    with vflow() as f:
        f.producer = Producer()
        f.final = Final(f.producer)
    f.run_until_complete()
    return f.producer.get_data(), f.final.get_data()


# The D6 column of SPEC §3.5, plus the §0.2 completions (bool, mixed numbers, tuples, bytes).
ACCUMULATION_TABLE = [
    (["a", "b", "c"], ("abc",)),
    ([1, 2, 3], (6,)),
    ([True, True], (2,)),
    ([True, 2, 0.5], (3.5,)),
    ([[1]], ([1],)),
    ([[1], [2]], ([1, 2],)),
    ([[1], [2], [3]], ([1, 2, 3],)),
    ([1, 2.0], (3.0,)),
    ([1.5, 1], (2.5,)),
    ([b"a", b"b"], (b"ab",)),
    ([(1,), (2, 3)], ((1, 2, 3),)),
    ([{"k": 1}, {"k": 2}], ([{"k": 1}, {"k": 2}],)),
    ([None, None], ([None, None],)),
    (["a", 1], (["a", 1],)),
    ([1, "a", 2], ([1, "a", 2],)),
    ([[1], (2,)], ([[1], (2,)],)),
    (["a", b"b"], (["a", b"b"],)),
    ([{"k": 1}], ([{"k": 1}],)),
    ([7], (7,)),
    (["only"], ("only",)),
]


@pytest.mark.parametrize(("chunks", "expected"), ACCUMULATION_TABLE, ids=[repr(c) for c, _ in ACCUMULATION_TABLE])
def test_accumulation_table(chunks: list[Any], expected: tuple[Any, ...]) -> None:
    final, consumed = run_stream(chunks)
    assert final == expected
    assert consumed == expected
    # types matter: 1 + 2.0 is a float, True + True an int
    assert type(final[0]) is type(expected[0])


def test_no_chunks_and_no_explicit_value_is_no_final_value() -> None:
    final, consumed = run_stream([])
    assert final is None
    assert consumed == ("no final value",)  # the consumer used its default


def test_no_chunks_feeding_a_port_without_default_names_node_and_port() -> None:
    @node
    async def Empty():
        return
        yield  # pragma: no cover - makes this an async generator

    @node
    async def Needs(value):
        return value

    with vflow() as f:
        f.empty = Empty()
        f.needs = Needs(f.empty)
    with pytest.raises(MissingDefaultError) as info:
        f.run_until_complete()
    assert "Needs" in str(info.value)
    assert "value" in str(info.value)


def test_multi_output_accumulates_per_port() -> None:
    final, consumed = run_stream([(1, "a"), (2, "b")], multiple_outputs=True)
    assert final == (3, "ab")
    assert consumed == (3,)  # Final is connected to output 0


def test_multi_output_categories_are_independent_per_port() -> None:
    chunks = [(1, "a", [1], {"x": 1}, b"q"), (2.5, "b", [2], {"y": 2}, b"r"), (True, 3, [3], {"z": 3}, b"s")]
    final, _ = run_stream(chunks, multiple_outputs=True)
    assert final == (4.5, ["a", "b", 3], [1, 2, 3], [{"x": 1}, {"y": 2}, {"z": 3}], b"qrs")


def test_multi_output_outputs_feed_their_own_consumers() -> None:
    @node(multiple_outputs=True)
    async def Pair():
        yield 1, "x"
        yield 2, "y"

    @node
    async def Take(value):
        return value

    with vflow() as f:
        f.pair = Pair()
        f.first = Take(f.pair.output(0))
        f.second = Take(f.pair.output(1))
    f.run_until_complete()
    assert f.first.get_data() == (3,)
    assert f.second.get_data() == ("xy",)


def test_a_category_change_late_in_a_long_numeric_stream_is_a_clear_error_not_a_wrong_value() -> None:
    """D6 says "otherwise the list of its chunks"; a numeric stream cannot keep every number (D14),
    so past the history cap the node must fail clearly rather than publish a partial list."""
    from flowno_core._graph.rules.accumulate import NUMERIC_HISTORY

    chunks: list[Any] = list(range(NUMERIC_HISTORY + 5)) + ["late"]
    with pytest.raises(ValueError, match="accumulate"):
        run_stream(chunks)
    # within the cap the list of chunks is still produced
    short: list[Any] = [1, 2, "late"]
    assert run_stream(short)[0] == ([1, 2, "late"],)


def test_a_long_numeric_stream_sums_exactly() -> None:
    final, _ = run_stream(list(range(5000)))
    assert final == (sum(range(5000)),)


# -- explicit final value (SPEC §3.6) -----------------------------------------------------------------


def test_explicit_final_value_single_output() -> None:
    @node
    async def Explicit():
        yield 1
        yield 2
        raise StopAsyncIteration("done")

    @node
    async def Final(value):
        return value

    with vflow() as f:
        f.p = Explicit()
        f.final = Final(f.p)
    f.run_until_complete()
    assert f.p.get_data() == ("done",)
    assert f.final.get_data() == ("done",)
    assert f.p.generation == (0,)


def test_explicit_tuple_on_a_single_output_node_is_wrapped() -> None:
    @node
    async def Explicit():
        yield "x"
        raise StopAsyncIteration(("X", "Y"))

    with vflow() as f:
        f.p = Explicit()
    f.run_until_complete()
    assert f.p.get_data() == (("X", "Y"),)


def test_explicit_none_is_an_explicit_value() -> None:
    @node
    async def Explicit():
        yield 1
        raise StopAsyncIteration(None)

    @node
    async def Final(value="default"):
        return value

    with vflow() as f:
        f.p = Explicit()
        f.final = Final(f.p)
    f.run_until_complete()
    assert f.p.get_data() == (None,)
    assert f.final.get_data() == (None,)


def test_explicit_final_value_without_chunks() -> None:
    @node
    async def OnlyFinal():
        if False:  # pragma: no cover
            yield 0
        raise StopAsyncIteration(42)

    @node
    async def Final(value):
        return value

    with vflow() as f:
        f.p = OnlyFinal()
        f.final = Final(f.p)
    f.run_until_complete()
    assert f.final.get_data() == (42,)


def test_explicit_final_value_multi_output_tuple() -> None:
    @node(multiple_outputs=True)
    async def Explicit():
        yield 1, "a"
        raise StopAsyncIteration((10, "z"))

    @node
    async def Take(value):
        return value

    with vflow() as f:
        f.p = Explicit()
        f.second = Take(f.p.output(1))
    f.run_until_complete()
    assert f.p.get_data() == (10, "z")
    assert f.second.get_data() == ("z",)


def test_explicit_final_value_multi_output_non_tuple_is_a_value_error_naming_the_node() -> None:
    @node(multiple_outputs=True)
    async def BadFinal():
        yield 1, 2
        raise StopAsyncIteration(3)

    with vflow() as f:
        f.p = BadFinal()
    with pytest.raises(ValueError) as info:
        f.run_until_complete()
    assert len(info.value.args) == 1 and isinstance(info.value.args[0], str)
    assert info.value.args[0].startswith("p (BadFinal) is a multiple_outputs node and raised StopAsyncIteration(3)")
    assert any("hint: raise StopAsyncIteration((3, ...))" in note for note in info.value.__notes__)


def test_explicit_value_wins_over_accumulation_and_over_a_category_mix() -> None:
    @node
    async def Mixed():
        yield 1
        yield "a"
        yield {"k": 1}
        raise StopAsyncIteration("explicit")

    with vflow() as f:
        f.p = Mixed()
    f.run_until_complete()
    assert f.p.get_data() == ("explicit",)


def test_explicit_value_wins_over_a_custom_accumulator() -> None:
    def never(acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
        return ("accumulated",)

    @node(accumulate=never)
    async def Explicit():
        yield 1
        yield 2
        raise StopAsyncIteration("explicit")

    with vflow() as f:
        f.p = Explicit()
    f.run_until_complete()
    assert f.p.get_data() == ("explicit",)


# -- custom accumulation (D6) -------------------------------------------------------------------------


def test_accumulate_fn_replaces_the_built_in_rule() -> None:
    calls: list[tuple[Any, Any]] = []

    def keep_max(acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
        calls.append((acc, chunk))
        return (max(acc[0], chunk[0]),)

    @node(accumulate=keep_max)
    async def Numbers():
        for value in (3, 9, 4):
            yield value

    @node
    async def Final(value):
        return value

    with vflow() as f:
        f.p = Numbers()
        f.final = Final(f.p)
    f.run_until_complete()
    assert f.final.get_data() == (9,)
    # the accumulator starts at the first chunk tuple; fn sees (acc_tuple, chunk_tuple)
    assert calls == [((3,), (9,)), ((9,), (4,))]


def test_accumulate_fn_on_a_multi_output_node_and_with_stream_in() -> None:
    def count_and_last(acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
        return (acc[0] + 1, chunk[1])

    @node
    async def Source():
        for value in "abc":
            yield value

    @node(multiple_outputs=True, stream_in=["items"], accumulate=count_and_last)
    async def Numbered(items):
        async for item in items:
            yield 1, item

    with vflow() as f:
        f.source = Source()
        f.numbered = Numbered(f.source)
    f.run_until_complete()
    assert f.numbered.get_data() == (3, "c")


def test_accumulate_streamed_data_method_on_an_at_node_class() -> None:
    @node
    class Joiner:
        separator = "-"

        async def call(self):
            for word in ("x", "y", "z"):
                yield word

        def accumulate_streamed_data(self, acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
            return (acc[0] + self.separator + chunk[0],)

    with vflow() as f:
        f.joiner = Joiner()
    f.run_until_complete()
    assert f.joiner.get_data() == ("x-y-z",)


def test_accumulate_streamed_data_method_on_a_multi_output_class() -> None:
    @node(multiple_outputs=True)
    class Stats:
        async def call(self):
            for value in (5, 1, 7):
                yield value, value

        def accumulate_streamed_data(self, acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
            return (min(acc[0], chunk[0]), max(acc[1], chunk[1]))

    with vflow() as f:
        f.stats = Stats()
    f.run_until_complete()
    assert f.stats.get_data() == (1, 7)


def test_accumulate_streamed_data_on_a_hand_written_draft_node_subclass() -> None:
    class Product(DraftNode):
        _minimum_run_level: ClassVar[list[int]] = [0]
        _default_values: ClassVar[dict[int, Any]] = {0: 4}

        async def _generate(self, count: int) -> Any:
            for value in range(1, count + 1):
                yield (value,)

        def call(self, count: int) -> Any:  # type: ignore[override]
            return self._generate(count)

        def accumulate_streamed_data(self, acc: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
            return (acc[0] * chunk[0],)

    @node
    async def Final(value):
        return value

    with vflow() as f:
        f.product = Product()
        f.final = Final(f.product)
    f.run_until_complete()
    assert f.product.get_data() == (24,)  # 1*2*3*4
    assert f.final.get_data() == (24,)


def test_hand_written_draft_node_subclass_without_override_uses_the_built_in_rule() -> None:
    class Pairs(DraftNode):
        _minimum_run_level: ClassVar[list[int]] = []

        async def _generate(self) -> Any:
            yield (1, [1])
            yield (2, [2])

        def call(self) -> Any:  # type: ignore[override]
            return self._generate()

    with vflow() as f:
        f.pairs = Pairs()
    f.run_until_complete()
    assert f.pairs.get_data() == (3, [1, 2])


def test_accumulation_restarts_with_each_lap() -> None:
    """Each lap's final value accumulates only that lap's chunks."""
    finals: list[Any] = []

    @node
    async def Counter(previous: int = 0):
        return previous + 1

    @node
    async def Repeat(count: int):
        for _ in range(count):
            yield count

    @node
    async def Record(value):
        finals.append(value)
        return value

    with vflow() as f:
        f.counter = Counter(f.repeat)
        f.repeat = Repeat(f.counter)
        f.record = Record(f.repeat)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.counter: (3,)})
    # counter 1 -> repeat 1*1; counter 2 -> 2*2; counter 5 -> 5*5; counter 26 (limit)
    assert f.counter.get_data() == (26,)
    assert f.repeat.get_data() == (25,)
    assert finals == [1, 4, 25]
