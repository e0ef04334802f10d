"""What the template does not cover: each operator's own promises (concurrency bounds, timing,
sources, skipping), its errors for bad input and failing functions, and operators in flows that run
more than once."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from flowno_core import (
    FlowHDL,
    Inlet,
    Skipped,
    Stream,
    TerminateLimitReached,
    VirtualClock,
    current_event_loop,
    node,
    sleep,
)
from flowno_nodes import (
    StreamTimeout,
    apply,
    batch,
    collect,
    count,
    distinct,
    flatten,
    foreach,
    from_inlet,
    from_iterable,
    gate,
    interval,
    keep,
    merge,
    reduce,
    scan,
    take,
    take_while,
    timeout,
    window,
    zip_latest,
)


def vflow() -> FlowHDL:
    return FlowHDL(clock=VirtualClock())


def now() -> float:
    return current_event_loop().time()


@node(stream_in=["items"])
async def Stamped(items: Stream[Any]) -> list[tuple[float, Any]]:
    return [(round(now(), 6), item) async for item in items]


@node
async def Spaced(values: list[Any], period: float):
    for value in values:
        await sleep(period)
        yield value


# -- apply ------------------------------------------------------------------------------------------
def test_apply_keeps_at_most_concurrency_calls_in_flight_and_the_input_order() -> None:
    running = 0
    peak = 0

    async def work(x: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await sleep(1.0 if x % 2 else 3.0)
        running -= 1
        return x

    f = vflow()
    with f:
        f.numbers = from_iterable(range(9))
        f.results = apply(f.numbers, work, concurrency=3)
        f.out = Stamped(f.results)
    f.run_until_complete()
    out = f.out.get_data()[0]
    assert [value for _, value in out] == list(range(9))
    assert peak == 3
    assert out[-1][0] < 9 * 2.0  # overlapped: far less than running the calls one after another


def test_cancelling_apply_cancels_the_calls_in_flight() -> None:
    cleaned: list[int] = []

    async def slow(x: int) -> int:
        try:
            await sleep(10.0 if x else 0.0)
            return x
        finally:
            cleaned.append(x)

    @node(stream_in=["items"])
    async def FirstOnly(items: Stream[int]) -> int:
        async for item in items:
            await items.cancel()
            return item
        return -1

    f = vflow()
    with f:
        f.numbers = count()
        f.results = apply(f.numbers, slow, concurrency=4)
        f.first = FirstOnly(f.results)
    f.run_until_complete()
    assert f.first.get_data() == (0,)
    assert sorted(cleaned) == [0, 1, 2, 3]  # 0 finished; 1, 2 and 3, still in flight, were cancelled
    assert now_of(f) < 10.0


@pytest.mark.parametrize(
    ("wire", "operator", "what"),
    [
        (lambda s: apply(s, lambda x: 1 / (x - 3)), "apply", "fn"),
        (lambda s: apply(s, _async_fails_on_3, concurrency=2), "apply", "fn"),
        (lambda s: keep(s, lambda x: 1 / (x - 3)), "keep", "predicate"),
        (lambda s: take_while(s, lambda x: 1 / (x - 3)), "take_while", "predicate"),
        (lambda s: scan(s, lambda acc, x: acc + 1 / (x - 3), 0), "scan", "fn"),
        (lambda s: reduce(s, lambda acc, x: acc + 1 / (x - 3), 0), "reduce", "fn"),
        (lambda s: distinct(s, key=lambda x: 1 / (x - 3)), "distinct", "key"),
    ],
)
def test_a_failing_function_names_the_node_the_generation_and_the_item(wire: Any, operator: str, what: str) -> None:
    f = vflow()
    with f:
        f.numbers = from_iterable([0, 1, 2, 3, 4])
        f.op = wire(f.numbers)
        f.out = collect(f.op)
    with pytest.raises(ZeroDivisionError) as caught:
        f.run_until_complete()
    notes = "\n".join(caught.value.__notes__)
    assert f"{operator}: {what} failed on item #3: 3" in notes
    assert f"raised by node op ({operator}) while computing generation" in notes


async def _async_fails_on_3(x: int) -> float:
    await sleep(0.1)
    return 1 / (x - 3)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (lambda s: apply(s, "not a function"), "apply(): fn must be a function"),
        (lambda s: apply(s, abs, concurrency=0), "apply(): concurrency must be an int >= 1"),
        (lambda s: batch(s), "batch(): give size=, seconds= or both"),
        (lambda s: batch(s, size=0), "batch(): size must be an int >= 1"),
        (lambda s: batch(s, seconds=-1), "batch(): seconds must be a positive number"),
        (lambda s: window(s, 0), "window(): size must be an int >= 1"),
        (lambda s: take(s, -1), "take(): n must be an int >= 0"),
        (lambda s: timeout(s), "timeout(): give per_item=, total= or both"),
        (lambda s: timeout(s, per_item=0), "timeout(): per_item must be a positive number of seconds"),
        (lambda s: merge(s, count(step=0)), "count(): step must not be 0"),
        (lambda s: interval(0), "interval(): seconds must be a positive number"),
        (lambda s: from_iterable(42), "from_iterable(): expected an iterable"),
        (lambda s: from_inlet([]), "from_inlet(): expected a flowno_core.Inlet"),
        (lambda s: foreach([1], abs, max_workers=0), "foreach(): max_workers must be an int >= 1"),
    ],
)
def test_bad_arguments_fail_the_node_with_a_message_naming_the_operator(wire: Any, message: str) -> None:
    f = vflow()
    with f:
        f.numbers = from_iterable([1, 2])
        f.op = wire(f.numbers)
        f.out = collect(f.op)
    with pytest.raises((TypeError, ValueError)) as caught:
        f.run_until_complete()
    assert message in str(caught.value)
    assert any("raised by node" in note for note in caught.value.__notes__)


# -- control ----------------------------------------------------------------------------------------
def test_foreach_bounds_the_calls_and_keeps_the_order() -> None:
    running = 0
    peak = 0

    async def fetch(page: int) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await sleep(float(page))
        running -= 1
        return f"page {page}"

    f = vflow()
    with f:
        f.pages = foreach([5, 1, 1, 1, 1, 2], fetch, max_workers=2)
    f.run_until_complete()
    assert f.pages.get_data() == (["page 5", "page 1", "page 1", "page 1", "page 1", "page 2"],)
    assert peak == 2


def test_foreach_runs_plain_functions_on_threads_in_parallel() -> None:
    barrier = threading.Barrier(3, timeout=10)

    def blocking(x: int) -> int:
        barrier.wait()  # only passes when three calls run at once, each on its own thread
        return x * 2

    with FlowHDL() as f:
        f.out = foreach([1, 2, 3], blocking, max_workers=3)
    f.run_until_complete()
    assert f.out.get_data() == ([2, 4, 6],)


def test_foreach_accepts_a_function_node_and_its_first_failure_cancels_the_rest() -> None:
    cleaned: list[int] = []

    @node
    async def Check(x: int) -> int:
        try:
            if x == 2:
                raise ValueError("bad item")
            await sleep(100.0)
            return x
        finally:
            cleaned.append(x)

    f = vflow()
    with f:
        f.out = foreach([1, 2, 3], Check, max_workers=3)
    with pytest.raises(ValueError, match="bad item") as caught:
        f.run_until_complete()
    assert "foreach: fn failed on item #1: 2" in "\n".join(caught.value.__notes__)
    assert sorted(cleaned) == [1, 2, 3]
    assert now_of(f) < 100.0


def now_of(f: FlowHDL) -> float:
    return f._flow.event_loop.clock.now()


def test_foreach_of_an_empty_list_is_an_empty_list() -> None:
    with FlowHDL() as f:
        f.out = foreach([], abs)
    f.run_until_complete()
    assert f.out.get_data() == ([],)


def test_gate_skips_its_dependants_and_an_optional_port_takes_its_default() -> None:
    @node
    async def Ship(order: int) -> str:
        return f"shipped {order}"

    @node(optional=["order"])
    async def Log(order: int = -1) -> int:
        return order

    with FlowHDL() as f:
        f.odd = gate(1, lambda n: n % 2 == 0)
        f.even = gate(2, lambda n: n % 2 == 0)
        f.ship_odd = Ship(f.odd)
        f.log_odd = Log(f.odd)
        f.ship_even = Ship(f.even)
    report = f.run_until_complete()
    assert isinstance(f.ship_odd.get_data(), Skipped)
    assert f.log_odd.get_data() == (-1,)
    assert f.ship_even.get_data() == ("shipped 2",)
    assert report.ok and report.totals.skipped == 2  # the closed gate and the Ship behind it


def test_gate_with_a_condition_from_another_node_and_a_failing_condition_is_an_error() -> None:
    @node
    async def Enabled() -> bool:
        return False

    with FlowHDL() as f:
        f.enabled = Enabled()
        f.value = gate("payload", f.enabled)
    f.run_until_complete()
    assert isinstance(f.value.get_data(), Skipped)

    with FlowHDL() as g:
        g.value = gate("payload", lambda value: value.missing)
    with pytest.raises(AttributeError) as caught:
        g.run_until_complete()  # a broken condition fails; it does not quietly skip
    assert "gate: condition failed on item #0: 'payload'" in "\n".join(caught.value.__notes__)


# -- sources ----------------------------------------------------------------------------------------
def test_from_iterable_reads_async_iterables_and_count_counts_down_and_in_floats() -> None:
    async def letters() -> AsyncIterator[str]:
        for letter in "xyz":
            await sleep(0.1)
            yield letter

    with vflow() as f:
        f.letters = from_iterable(letters())
        f.down = count(3, -1, stop=0)
        f.halves = count(0.0, 0.5, stop=2.0)
        f.a = collect(f.letters)
        f.b = collect(f.down)
        f.c = collect(f.halves)
    f.run_until_complete()
    assert (f.a.get_data(), f.b.get_data(), f.c.get_data()) == ((["x", "y", "z"],), ([3, 2, 1],), ([0.0, 0.5, 1.0, 1.5],))


def test_take_stops_an_endless_source() -> None:
    stopped: list[str] = []

    @node
    async def Endless():
        i = 0
        try:
            while True:
                yield i
                i += 1
        finally:
            stopped.append(f"stopped after {i}")

    with vflow() as f:
        f.endless = Endless()
        f.first = take(f.endless, 3)
        f.out = collect(f.first)
    f.run_until_complete()
    assert f.out.get_data() == ([0, 1, 2],)
    assert stopped == ["stopped after 2"]


def test_interval_ticks_do_not_drift_and_late_ticks_come_at_once() -> None:
    @node(stream_in=["ticks"])
    async def SlowReader(ticks: Stream[int]) -> list[tuple[float, int]]:
        seen = []
        async for tick in ticks:
            seen.append((round(now(), 6), tick))
            if tick == 1:
                await sleep(2.5)  # misses the ticks due at 3.0 and 4.0 ... no: they wait for it
        return seen

    with vflow() as f:
        f.ticks = interval(1.0, limit=5)
        f.seen = SlowReader(f.ticks)
    f.run_until_complete()
    assert f.seen.get_data() == ([(1.0, 0), (2.0, 1), (4.5, 2), (4.5, 3), (5.0, 4)],)


def test_from_inlet_streams_what_threads_put_until_closed() -> None:
    inlet: Inlet[int] = Inlet()

    def producer(offset: int) -> None:
        for i in range(100):
            inlet.put(offset + i)

    with FlowHDL() as f:
        f.items = from_inlet(inlet)
        f.out = collect(f.items)
    threads = [threading.Thread(target=producer, args=(1000 * k,)) for k in range(3)]
    for thread in threads:
        thread.start()

    def closer() -> None:
        for thread in threads:
            thread.join()
        inlet.close()

    threading.Thread(target=closer).start()
    f.run_until_complete()
    out = f.out.get_data()[0]
    assert sorted(out) == sorted(1000 * k + i for k in range(3) for i in range(100))
    for k in range(3):  # each thread's items keep their order
        mine = [value for value in out if value // 1000 == k]
        assert mine == sorted(mine)


# -- timing -----------------------------------------------------------------------------------------
def test_timeout_per_item_stops_a_stalled_source() -> None:
    stopped: list[bool] = []

    @node
    async def Stalls():
        try:
            yield 1
            yield 2
            await sleep(100.0)
            yield 3
        finally:
            stopped.append(True)

    with vflow() as f:
        f.source = Stalls()
        f.bounded = timeout(f.source, per_item=5.0)
        f.out = collect(f.bounded)
    with pytest.raises(StreamTimeout, match=r"no item within 5.0 s \(after 2 items\)") as caught:
        f.run_until_complete()
    assert "raised by node bounded (timeout) while computing generation (0, 2)" in caught.value.__notes__
    assert stopped == [True]
    assert now_of(f) == pytest.approx(5.0)


def test_batch_by_time_passes_a_batch_on_seconds_after_its_first_item() -> None:
    with vflow() as f:
        f.source = Spaced([1, 2, 3, 4, 5], 0.4)  # items at 0.4, 0.8, 1.2, 1.6, 2.0
        f.batches = batch(f.source, seconds=1.0)
        f.out = Stamped(f.batches)
    f.run_until_complete()
    assert f.out.get_data() == ([(1.4, [1, 2, 3]), (2.0, [4, 5])],)


# -- errors of the data -----------------------------------------------------------------------------
def test_reduce_of_an_empty_stream_without_initial_says_what_to_do() -> None:
    with vflow() as f:
        f.none = from_iterable([])
        f.total = reduce(f.none, max)
    with pytest.raises(ValueError, match=r"pass initial="):
        f.run_until_complete()


def test_distinct_of_unhashable_items_hints_at_key() -> None:
    with vflow() as f:
        f.rows = from_iterable([{"id": 1}, {"id": 1}])
        f.unique = distinct(f.rows)
        f.out = collect(f.unique)
    with pytest.raises(TypeError) as caught:
        f.run_until_complete()
    assert any("pass key=" in note for note in caught.value.__notes__)

    with vflow() as g:
        g.rows = from_iterable([{"id": 1}, {"id": 1}, {"id": 2}])
        g.unique = distinct(g.rows, key=lambda row: row["id"])
        g.out = collect(g.unique)
    g.run_until_complete()
    assert g.out.get_data() == ([{"id": 1}, {"id": 2}],)


def test_flatten_of_a_non_iterable_item_names_it() -> None:
    with vflow() as f:
        f.items = from_iterable([[1], 2])
        f.flat = flatten(f.items)
        f.out = collect(f.flat)
    with pytest.raises(TypeError, match=r"flatten\(\): item #1 is not iterable: 2"):
        f.run_until_complete()


# -- operators as nodes -----------------------------------------------------------------------------
def test_operators_run_again_for_every_generation_of_a_cycle() -> None:
    @node
    async def Seed(previous: int = 0) -> list[int]:
        return list(range(previous, previous + 4))

    with FlowHDL() as f:
        f.seed = Seed(f.total)
        f.items = from_iterable(f.seed)
        f.kept = keep(f.items, lambda x: x % 2 == 1)
        f.total = reduce(f.kept, lambda a, b: a + b, 0)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.total: (2,)})
    # 0..3 -> 1+3 = 4; 4..7 -> 5+7 = 12; 12..15 -> 13+15 = 28
    assert f.total.get_data() == (28,)


def test_nodes_with_several_inputs_have_unique_names_and_need_a_source() -> None:
    with vflow() as f:
        f.a = from_iterable([1])
        f.b = from_iterable([2])
        f.c = from_iterable([3])
        f.two = merge(f.a, f.b)
        f.three = merge(f.a, f.b, f.c)
        f.pairs = zip_latest(f.a, f.b)
        f.all = collect(f.three)
    assert len({repr(f.two), repr(f.three)}) == 2
    assert repr(f.two).startswith("merge#") and repr(f.pairs).startswith("zip_latest#")
    f.run_until_complete()
    assert sorted(f.all.get_data()[0]) == [1, 2, 3]
    with pytest.raises(TypeError, match=r"merge\(\) needs at least one source"):
        merge()


def test_a_streaming_operators_final_value_is_its_last_item() -> None:
    @node
    async def Plain(value: Any) -> Any:
        return value

    with vflow() as f:
        f.words = from_iterable(["ab", "cd", "ef"])
        f.pairs = window(f.words, 2)
        f.batches = batch(f.words, size=2)
        f.merged = merge(f.words, f.words)
        f.nothing = keep(f.words, lambda word: False)
        f.last_pair = Plain(f.pairs)
    f.run_until_complete()
    assert f.last_pair.get_data() == (("cd", "ef"),)  # not every window concatenated
    assert f.batches.get_data() == (["ef"],)
    assert f.merged.get_data() == ("ef",)
    assert f.nothing.get_data() is None  # nothing passed on: no last item (as for any empty stream)
