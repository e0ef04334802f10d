"""Every operator of the node library through the shared template (template.py): fast, slow, empty,
erroring and cancelled input; results against a reference model, then clean-up."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from flowno_core import sleep
from flowno_nodes import (
    apply,
    batch,
    collect,
    concat,
    count_items,
    debounce,
    delay,
    distinct,
    enumerate_items,
    flatten,
    foreach,
    gate,
    keep,
    merge,
    reduce,
    scan,
    skip,
    take,
    take_while,
    throttle,
    timeout,
    window,
    zip_latest,
)

from .template import ITEMS, MODES, Case, check_case


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def windows(items: list[Any], size: int, step: int) -> list[tuple[Any, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items) - size + 1, step)]


async def slow_times_ten(x: int) -> int:
    await sleep((x % 3) * 0.1)  # later items may finish first: the output order must not change
    return x * 10


def times_ten(x: int) -> int:
    return x * 10


async def double(x: int) -> int:
    await sleep(0.01)
    return 2 * x


def first_seen(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def latest_pairs(received: list[Any], items: list[Any]) -> None:
    """zip_latest(main, one-item source): pairs start once both have an item (earlier main items
    may be passed over), follow main's order, and end with main's last item."""
    assert all(other == "x" for _, other in received)
    values = [value for value, _ in received]
    assert values == sorted(set(values)) and set(values) <= set(items)
    if items and len(received) > 2:
        assert values[-1] == items[-1]


WITH_REPEATS = [3, 1, 3, 2, 1, 4, 4, 5, 3, 6]
NESTED = [[i] * (i % 3) for i in ITEMS]

CASES = [
    Case("apply", lambda s, x: apply(s, times_ten), lambda i, slow: [v * 10 for v in i]),
    Case("apply-async-concurrent", lambda s, x: apply(s, slow_times_ten, concurrency=3),
         lambda i, slow: [v * 10 for v in i]),
    Case("keep", lambda s, x: keep(s, lambda v: v % 2 == 0), lambda i, slow: [v for v in i if v % 2 == 0]),
    Case("take", lambda s, x: take(s, 3), lambda i, slow: i[:3], stops_after=3),
    Case("take-more-than-there-is", lambda s, x: take(s, 50), lambda i, slow: i[:50]),
    Case("take-none", lambda s, x: take(s, 0), lambda i, slow: [], stops_after=0),
    Case("skip", lambda s, x: skip(s, 4), lambda i, slow: i[4:]),
    Case("take_while", lambda s, x: take_while(s, lambda v: v < 5),
         lambda i, slow: list(itertools.takewhile(lambda v: v < 5, i))),
    Case("batch-size", lambda s, x: batch(s, size=3), lambda i, slow: chunks(i, 3)),
    Case("batch-seconds", lambda s, x: batch(s, seconds=2.5),
         lambda i, slow: chunks(i, 3) if slow else chunks(i, len(i) or 1),
         times=lambda i, slow: [3.5, 6.5, 9.5, 10.0] if slow else [0.0]),
    Case("batch-size-and-seconds", lambda s, x: batch(s, size=4, seconds=2.5),
         lambda i, slow: chunks(i, 3) if slow else chunks(i, 4)),
    Case("window", lambda s, x: window(s, 3), lambda i, slow: windows(i, 3, 1)),
    Case("window-step-past-size", lambda s, x: window(s, 2, step=3), lambda i, slow: windows(i, 2, 3)),
    Case("scan", lambda s, x: scan(s, lambda a, v: a + v, 100),
         lambda i, slow: list(itertools.accumulate(i, initial=100))[1:]),
    Case("scan-without-initial", lambda s, x: scan(s, max), lambda i, slow: list(itertools.accumulate(i, max))),
    Case("flatten", lambda s, x: flatten(s), lambda i, slow: list(itertools.chain(*i)), items=NESTED),
    Case("enumerate_items", lambda s, x: enumerate_items(s, start=1),
         lambda i, slow: list(enumerate(i, start=1))),
    Case("distinct", lambda s, x: distinct(s), lambda i, slow: first_seen(i), items=WITH_REPEATS),
    Case("merge", lambda s, x: merge(s, x([100, 200, 300])), lambda i, slow: i + ([100, 200, 300] if i else []),
         unordered=True),
    Case("zip_latest", lambda s, x: zip_latest(s, x(["x"])), lambda i, slow: [(v, "x") for v in i],
         check=latest_pairs),
    Case("concat", lambda s, x: concat(s, x([100, 200])), lambda i, slow: i + ([100, 200] if i else [])),
    Case("collect", lambda s, x: collect(s), lambda i, slow: [i], cancel_stops_source=False),
    Case("reduce", lambda s, x: reduce(s, lambda a, v: a + v, 0), lambda i, slow: [sum(i)], cancel_stops_source=False),
    Case("count_items", lambda s, x: count_items(s), lambda i, slow: [len(i)], cancel_stops_source=False),
    Case("throttle", lambda s, x: throttle(s, 2.0), lambda i, slow: i,
         times=lambda i, slow: [1.0 + 2 * k if slow else 2.0 * k for k in range(len(i))]),
    Case("debounce", lambda s, x: debounce(s, 0.5), lambda i, slow: i if slow else i[-1:],
         times=lambda i, slow: [k + 1.5 for k in range(len(i) - 1)] + [10.0] if slow else [0.0]),
    Case("delay", lambda s, x: delay(s, 0.5), lambda i, slow: i,
         times=lambda i, slow: [k + 1.5 for k in range(len(i))] if slow else [0.5] * len(i),
         cancel_stops_source=False),  # (it reads ahead: the items in transit)
    Case("delay-bounded", lambda s, x: delay(s, 0.5, max_pending=4), lambda i, slow: i,
         times=lambda i, slow: [k + 1.5 for k in range(len(i))] if slow else [0.5] * 6 + [1.0] * 4),
    Case("timeout", lambda s, x: timeout(s, per_item=1.5, total=60.0), lambda i, slow: i),
    Case("gate", lambda s, x: gate(collect(s), lambda got: len(got) > 0), lambda i, slow: [i] if i else [],
         cancel_stops_source=False),
    Case("foreach-async", lambda s, x: foreach(collect(s), double, max_workers=3),
         lambda i, slow: [[2 * v for v in i]], cancel_stops_source=False),
    Case("foreach-threads", lambda s, x: foreach(collect(s), times_ten, max_workers=2),
         lambda i, slow: [[10 * v for v in i]], cancel_stops_source=False),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=repr)
def test_operator(case: Case, mode: str) -> None:
    check_case(case, mode)
