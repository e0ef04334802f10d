"""The generation algebra (SPEC §2.2) as exact tables plus hypothesis properties, get_data's
worked example (§2.3), and the full staleness table (§2.4) against an independent model.

The model used here is independent of flowno_core's code: a generation ``g`` is ordered by the key
``g + (INF,)`` compared lexicographically (so a prefix is greater than its extensions and ``()`` is
greater than every non-empty tuple), with ``None`` below everything.
"""

from __future__ import annotations

import functools
import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core import node
from flowno_core._graph.rules.generations import (
    clip_generation,
    cmp_generation,
    inc_generation,
    main_generation,
    parent_generation,
    stitched_generation,
)
from flowno_core._graph.rules.staleness import is_stale

from .helpers import vflow

SETTINGS = settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------ the model
INF = math.inf


def key(g):
    return (0,) if g is None else (1,) + tuple(g) + (INF,)


def model_cmp(a, b):
    ka, kb = key(a), key(b)
    return (ka > kb) - (ka < kb)


def model_max(candidates):
    return max(candidates, key=key) if candidates else None


def model_min(candidates):
    return min(candidates, key=key) if candidates else None


def model_stitched(g, s):
    if g is None:
        return (s - 1,) if s != 0 else None
    if not g:
        return g
    return (g[0] + s,) + tuple(g[1:])


def all_tuples(max_len, bound, min_len=1):
    for length in range(min_len, max_len + 1):
        yield from itertools.product(range(bound), repeat=length)


def model_clip(g, rl):
    """Brute force: the greatest generation <= g of length <= rl+1 (elements need never exceed g's)."""
    if g is None:
        return None
    bound = (max(g) + 2) if g else 1
    candidates = [c for c in all_tuples(rl + 1, bound, min_len=0) if model_cmp(c, g) <= 0]
    return model_max(candidates)


def model_inc(g, rl):
    """Brute force: the smallest generation of length rl+1 greater than g."""
    bound = (max(g) + 3) if g else 2
    candidates = [c for c in itertools.product(range(bound), repeat=rl + 1) if model_cmp(c, g) > 0]
    return model_min(candidates)


def model_stale(producer, consumer, rl, stitch):
    effective = model_stitched(model_clip(producer, rl), stitch)
    return model_cmp(effective, consumer) <= 0


# ------------------------------------------------------------------------------------ exact tables
ORDER_CHAIN = [None, (0, 9), (0,), (1, 4), (1, 5), (1,), ()]


def test_ordering_examples_of_the_spec():
    # (1,) > (1, 5) > (1, 4) > (0,) > (0, 9) > None, and () > everything non-empty
    for i, a in enumerate(ORDER_CHAIN):
        for j, b in enumerate(ORDER_CHAIN):
            expected = (i > j) - (i < j)
            assert cmp_generation(a, b) == expected, (a, b)


@pytest.mark.parametrize(
    "a, b, expected",
    [
        (None, None, 0),
        ((0,), (0,), 0),
        ((0, 0), (0, 0), 0),
        ((), (), 0),
        ((0,), (0, 0), 1),
        ((0, 0), (0,), -1),
        ((1,), (0, 5), 1),
        ((0, 0, 0), (0, 0), -1),
        ((0, 1), (0, 0, 7), 1),
        ((2,), (10,), -1),
        ((), (5, 5), 1),
        (None, (), -1),
    ],
)
def test_cmp_generation_table(a, b, expected):
    assert cmp_generation(a, b) == expected
    assert cmp_generation(b, a) == -expected


INC_TABLE = [
    (None, 0, (0,)),
    (None, 1, (0, 0)),
    ((0,), 0, (1,)),
    ((0, 0), 0, (0,)),
    ((1, 2), 0, (1,)),
    ((0, 0), 1, (0, 1)),
    ((0,), 1, (1, 0)),
    ((0, 0, 0), 1, (0, 0)),
    ((0, 0), 2, (0, 1, 0)),
    ((1,), 2, (2, 0, 0)),
    ((1, 2, 3), 0, (1,)),
]


@pytest.mark.parametrize("g, rl, expected", INC_TABLE)
def test_inc_generation_table(g, rl, expected):
    assert inc_generation(g, rl) == expected
    assert model_inc(g, rl) == expected  # the table agrees with the definition


CLIP_TABLE = [
    ((1, 0), 0, (0,)),
    ((0, 0), 0, None),
    ((0, 0), 1, (0, 0)),
    ((1, 2, 3), 1, (1, 1)),
    ((1, 2, 3), 0, (0,)),
    (None, 0, None),
    (None, 1, None),
    (None, 5, None),
    ((3,), 0, (3,)),
    ((3,), 1, (3,)),
]


@pytest.mark.parametrize("g, rl, expected", CLIP_TABLE)
def test_clip_generation_table(g, rl, expected):
    assert clip_generation(g, rl) == expected
    assert model_clip(g, rl) == expected


@pytest.mark.parametrize(
    "g, expected", [((0,), (0,)), ((3, 7), (3,)), ((2, 0, 5), (2,)), (None, None), ((), ())]
)
def test_main_generation_table(g, expected):
    assert main_generation(g) == expected


@pytest.mark.parametrize("g, expected", [((1,), ()), ((), None), ((1, 2), (1,)), ((4, 5, 6), (4, 5)), (None, None)])
def test_parent_generation_table(g, expected):
    assert parent_generation(g) == expected


@pytest.mark.parametrize(
    "g, s, expected",
    [
        ((0,), 1, (1,)),
        ((0, 3), 1, (1, 3)),
        ((2,), 0, (2,)),
        ((2, 1), 3, (5, 1)),
        (None, 1, (0,)),
        (None, 2, (1,)),
        (None, 0, None),
        ((), 0, ()),
        ((), 4, ()),
    ],
)
def test_stitched_generation_table(g, s, expected):
    assert stitched_generation(g, s) == expected


# ------------------------------------------------------------------------------------ hypothesis
generation = st.one_of(st.none(), st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple))
any_generation = st.one_of(generation, st.just(()))
run_level = st.integers(0, 2)


@SETTINGS
@given(any_generation, any_generation)
def test_ordering_matches_the_model(a, b):
    assert cmp_generation(a, b) == model_cmp(a, b)


@SETTINGS
@given(any_generation, any_generation, any_generation)
def test_ordering_is_a_total_order(a, b, c):
    ab, ba = cmp_generation(a, b), cmp_generation(b, a)
    assert ab == -ba
    assert (ab == 0) == (a == b)  # antisymmetric and total: equal only when identical
    if ab <= 0 and cmp_generation(b, c) <= 0:
        assert cmp_generation(a, c) <= 0  # transitive


@SETTINGS
@given(generation, run_level)
def test_inc_is_the_smallest_greater_generation_of_that_length(g, rl):
    result = inc_generation(g, rl)
    assert len(result) == rl + 1
    assert cmp_generation(result, g) > 0
    assert result == model_inc(g, rl)


@SETTINGS
@given(generation, run_level)
def test_clip_is_the_greatest_not_greater_generation_of_bounded_length(g, rl):
    result = clip_generation(g, rl)
    assert result is None or len(result) <= rl + 1
    assert cmp_generation(result, g) <= 0
    assert result == model_clip(g, rl)


@SETTINGS
@given(generation, st.integers(0, 3))
def test_stitched_matches_the_model(g, s):
    assert stitched_generation(g, s) == model_stitched(g, s)


# ------------------------------------------------------------------------------------ get_data (§2.3)
@node
async def Leaf() -> int:
    return 0


def test_get_data_worked_example():
    with vflow() as f:
        f.n = Leaf()
    n = f.n
    assert n.generation is None
    assert n.get_data() is None and n.get_data(1) is None
    n.push_data((42,), 0)
    assert n.generation == (0,)
    assert n.get_data(0) == (42,)
    assert n.get_data(1) is None
    n.push_data((43,), 1)
    assert n.generation == (1, 0)
    assert n.get_data(0) == (42,)
    assert n.get_data(1) == (43,)
    assert n.get_data(2) is None
    n.push_data((44,), 0)
    assert n.generation == (1,)
    assert n.get_data(0) == (44,)
    assert n.get_data(1) is None


def test_get_data_mid_first_stream_has_no_final_value():
    with vflow() as f:
        f.n = Leaf()
    n = f.n
    n.push_data(("a",), 1)
    n.push_data(("b",), 1)
    assert n.generation == (0, 1)
    assert n.get_data(0) is None  # (0,)[-1] decremented: nothing completed before
    assert n.get_data(1) == ("b",)
    n.push_data(("ab",), 0)
    assert n.generation == (0,)
    assert n.get_data(0) == ("ab",)
    assert n.get_data(1) is None


def test_a_stored_none_counts_as_no_data():
    with vflow() as f:
        f.n = Leaf()
    f.n.push_data(None, 0)
    assert f.n.generation == (0,)
    assert f.n.get_data() is None


# ------------------------------------------------------------------------------------ staleness (§2.4)
PRODUCER_GENS = [None, (0,), (1,), (0, 0), (0, 1), (1, 0)]
CONSUMER_GENS = [None, (0,), (1,), (0, 0), (0, 1)]


@node
async def Producer() -> int:
    return 0


@node
async def MonoConsumer(x: int) -> int:
    return x


@node(stream_in=["x"])
async def StreamConsumer(x) -> int:
    return 0


@functools.cache
def _connections():
    with vflow() as f:
        f.p = Producer()
        f.mono = MonoConsumer(f.p)
        f.stream = StreamConsumer(f.p)
    f._flow._build()
    return f, {0: f.mono._runtime.inputs[0], 1: f.stream._runtime.inputs[0]}


STALENESS_CASES = list(itertools.product(PRODUCER_GENS, CONSUMER_GENS, [0, 1], [0, 1]))

@pytest.mark.parametrize("producer, consumer, rl, stitch", STALENESS_CASES)
def test_staleness_table(producer, consumer, rl, stitch):
    assert is_stale(producer, consumer, rl, stitch) is model_stale(producer, consumer, rl, stitch)


@pytest.mark.parametrize("producer, consumer, rl, stitch", STALENESS_CASES)
def test_runtime_connection_staleness_agrees_with_the_rule(producer, consumer, rl, stitch):
    expected = model_stale(producer, consumer, rl, stitch)
    f, conns = _connections()
    conn = conns[rl]
    assert conn.minimum_run_level == rl
    f.p._data.gen = producer
    consumer_node = f.stream if rl else f.mono
    consumer_node._data.gen = consumer
    conn.port.stitch_level_0 = stitch
    try:
        assert conn.is_stale() is expected  # the runtime's fast path agrees with the rule
    finally:
        conn.port.stitch_level_0 = 0


def test_staleness_examples_of_the_spec():
    # a streaming port: producer (0,1) vs consumer (0,0) is ready; producer (0,) vs consumer (0,1) too
    assert not is_stale((0, 1), (0, 0), 1, 0)
    assert not is_stale((0,), (0, 1), 1, 0)
    # a level-0 consumer of a producer mid-first-stream is not ready (partials clip to nothing)
    assert is_stale((0, 0), None, 0, 0)
    # ... and mid-second-stream it sees only the previous main value
    assert is_stale((1, 0), (0,), 0, 0)
    assert not is_stale((1,), (0,), 0, 0)
    # a level-1 consumer is ready at the first chunk of a newer main generation
    assert not is_stale((1, 0), (0,), 1, 0)
    # a defaulted (stitched) edge sees the producer's n-th output as its n+1-th
    assert not is_stale(None, None, 0, 1)
    assert is_stale((0,), (1,), 0, 1)
    assert not is_stale((1,), (1,), 0, 1)
