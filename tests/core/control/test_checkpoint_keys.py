"""Graph fingerprints, graph descriptions and cache keys."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import threading
import types
from typing import Any

import pytest

from flowno_core._graph.control.keys import cache_key, describe_graph, graph_fingerprint

PRODUCE_DOUBLE_SINK = [("Produce", []), ("Double", [(0, 0, 0)]), ("Sink", [(1, 0, 1), (0, 1, 0)])]


# --- fingerprints and descriptions ----------------------------------------------------------------


def test_the_fingerprint_of_a_shape_never_changes():
    # a changed value here breaks every checkpoint file written before: bump the format instead
    assert graph_fingerprint(PRODUCE_DOUBLE_SINK) == "0b4f1aac40491ae228e7d234fad0282dcab2457a615e7a694e2b8bf1a3cab4d9"


def test_the_order_inputs_are_listed_in_does_not_matter():
    reordered = [("Produce", ()), ("Double", [(0, 0, 0)]), ("Sink", [(0, 1, 0), (1, 0, 1)])]
    assert graph_fingerprint(reordered) == graph_fingerprint(PRODUCE_DOUBLE_SINK)


@pytest.mark.parametrize(
    "changed",
    [
        [("Produce", []), ("Triple", [(0, 0, 0)]), ("Sink", [(1, 0, 1), (0, 1, 0)])],  # a kind
        [("Produce", []), ("Double", [(0, 0, 0)]), ("Sink", [(1, 0, 0), (0, 1, 0)])],  # a producer's output
        [("Produce", []), ("Double", [(0, 0, 0)]), ("Sink", [(1, 1, 0), (0, 0, 1)])],  # swapped producers
        [("Produce", []), ("Double", [(0, 0, 0)]), ("Sink", [(0, 1, 0)])],  # an input fewer
        [("Produce", []), ("Double", [(1, 0, 0)]), ("Sink", [(1, 0, 1), (0, 1, 0)])],  # another port
        PRODUCE_DOUBLE_SINK + [("Log", [(0, 2, 0)])],  # a node more
        [("Double", [(0, 1, 0)]), ("Produce", []), ("Sink", [(1, 1, 1), (0, 0, 0)])],  # definition order
    ],
)
def test_any_change_of_shape_changes_the_fingerprint(changed):
    assert graph_fingerprint(changed) != graph_fingerprint(PRODUCE_DOUBLE_SINK)


def test_the_description_lists_nodes_and_wiring():
    assert describe_graph(PRODUCE_DOUBLE_SINK) == (
        "3 nodes (Produce, Double, Sink)\n#0 Produce\n#1 Double: in0 <- #0.out0\n#2 Sink: in0 <- #1.out0, in1 <- #0.out1"
    )
    assert describe_graph([("Only", [])]) == "1 node (Only)\n#0 Only"
    assert describe_graph([]) == "0 nodes ()"


def test_a_long_summary_names_the_first_eight_kinds():
    shape = [(f"N{index}", []) for index in range(11)]
    assert describe_graph(shape).splitlines()[0] == "11 nodes (N0, N1, N2, N3, N4, N5, N6, N7, ... (3 more))"


def test_a_producer_outside_the_flow_is_refused():
    with pytest.raises(ValueError, match=r"node #1 \(Double\): input 0 names producer #5; the flow has 2 nodes"):
        graph_fingerprint([("Produce", []), ("Double", [(0, 5, 0)])])


# --- cache keys -----------------------------------------------------------------------------------

SUBJECTS = '''
SCALE = 3
client = object()


def helper(x):
    return x * SCALE


def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


async def double(x, offset=1):
    """Twice x, plus offset."""
    def inner(y):
        return y + offset
    if x in {"alpha", "beta", "gamma"}:
        return (x,)
    return (inner(helper(x)) + factorial(2),)


async def uses_client(x):
    return (client, x)
'''


def load_subjects(source: str = SUBJECTS) -> types.ModuleType:
    """The subjects as a fresh module (the same name every time: the module is part of a key).

    ``dont_inherit``: compiled as a file of their own would be, without this test module's
    ``from __future__ import annotations`` (a compiler flag in ``co_flags``, so part of the key).
    """
    module = types.ModuleType("ckpt_subjects")
    exec(compile(source, "ckpt_subjects.py", "exec", dont_inherit=True), module.__dict__)
    return module


def double_key(source: str = SUBJECTS, inputs: tuple[Any, ...] = (21,)) -> str | None:
    return cache_key(load_subjects(source).double, inputs)


def test_the_same_code_and_equal_inputs_give_the_same_key():
    key = double_key(inputs=([1, 2], {"a": 1.5}))
    assert key is not None and len(key) == 64 and int(key, 16) >= 0
    assert double_key(inputs=([1, 2], {"a": 1.5})) == key
    assert double_key(inputs=([1, 3], {"a": 1.5})) != key
    assert double_key(inputs=((1, 2), {"a": 1.5})) != key


@pytest.mark.parametrize(
    "old, new",
    [
        ("return (x,)", "return (x, x)"),  # the node's own code
        ("offset=1", "offset=2"),  # a default value
        ("return y + offset", "return y - offset"),  # a nested function's code
        ('"gamma"', '"delta"'),  # a frozenset constant
        ("return x * SCALE", "return x * SCALE * 1"),  # a helper the node calls
        ("SCALE = 3", "SCALE = 4"),  # a constant a helper uses
        ("1 if n <= 1", "1 if n < 1"),  # a recursive helper
        ("Twice x", "Two times x"),  # the docstring (a constant, too)
    ],
)
def test_changed_code_changes_the_key(old, new):
    assert old in SUBJECTS
    assert double_key(SUBJECTS.replace(old, new)) != double_key()


@pytest.mark.parametrize(
    "old, new",
    [
        ("\nSCALE = 3", "\n# a comment\n\n\nSCALE = 3"),  # line numbers
        ("def inner(y):\n        return y + offset", "def inner(z):\n        return z + offset"),  # a local's name
        ("client = object()", "client = object()\nunrelated = [1, 2]\n\n\ndef other():\n    return 0"),
    ],
)
def test_what_is_not_code_keeps_the_key(old, new):
    assert old in SUBJECTS
    assert double_key(SUBJECTS.replace(old, new)) == double_key()


def test_an_opaque_global_counts_by_name_only():
    first, second = load_subjects(), load_subjects()
    assert first.client is not second.client
    assert cache_key(first.uses_client, (1,)) == cache_key(second.uses_client, (1,))


def make_scaled(scale: Any) -> Any:
    async def scaled(x: int) -> tuple[int]:
        return (x * scale,)

    return scaled


def test_closure_values_are_part_of_the_key():
    assert cache_key(make_scaled(2), (5,)) == cache_key(make_scaled(2), (5,))
    assert cache_key(make_scaled(2), (5,)) != cache_key(make_scaled(3), (5,))
    assert cache_key(make_scaled(helper_one), (5,)) != cache_key(make_scaled(helper_two), (5,))


def helper_one(x: int) -> int:
    return x + 1


def helper_two(x: int) -> int:
    return x + 2


def test_an_unassigned_closure_variable_still_gives_a_key():
    def make() -> Any:
        async def early(x: int) -> tuple[Any]:
            return (x, later)

        return early
        later = 1  # noqa: F841 - never reached: the cell stays empty

    assert cache_key(make(), (1,)) is not None


@pytest.mark.parametrize(
    "inputs", [(lambda: None,), ((n for n in [1]),), (threading.Lock(),)], ids=["lambda", "generator", "lock"]
)
def test_an_unpicklable_input_gives_no_key(inputs):
    assert cache_key(load_subjects().double, inputs) is None


def test_an_unpicklable_closure_value_gives_no_key():
    assert cache_key(make_scaled(threading.Lock()), (1,)) is None


@pytest.mark.parametrize("callable_", [len, functools.partial(helper_one)], ids=["builtin", "partial"])
def test_a_callable_that_is_not_a_python_function_gives_no_key(callable_):
    assert cache_key(callable_, (1,)) is None


class Counter:
    async def call(self, x: int) -> tuple[int]:
        return (x + 1,)


def test_a_class_node_is_keyed_by_its_call_function():
    key = cache_key(Counter.call, (1,))
    assert key is not None and cache_key(Counter().call, (1,)) == key


CHILD = """
import json, sys, types
from flowno_core._graph.control.keys import cache_key

source, inputs = json.loads(sys.stdin.read())
module = types.ModuleType("ckpt_subjects")
exec(compile(source, "ckpt_subjects.py", "exec", dont_inherit=True), module.__dict__)
print(json.dumps([cache_key(module.double, tuple(args)) for args in inputs]))
"""


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_keys_are_the_same_in_another_process(hash_seed):
    inputs = [[21], ["alpha"], [[1.5, None, "text"], {"nested": [1, 2]}], [float("nan")]]
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=json.dumps([SUBJECTS, inputs]),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=True,
    )
    assert json.loads(child.stdout) == [double_key(inputs=tuple(args)) for args in inputs]
