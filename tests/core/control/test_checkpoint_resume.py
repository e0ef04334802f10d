"""run_until_complete(checkpoint=...): values saved as a run goes, resumed by a new flow or a new
process, SIGKILL at random moments loses no committed generation, bad checkpoints refused."""

from __future__ import annotations

import contextlib
import pickle
import random
import sqlite3
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowno_core import (
    CheckpointCorrupt,
    CheckpointMismatch,
    FlowHDL,
    MemoryStore,
    TerminateLimitReached,
    UnpicklableValue,
    VirtualClock,
    node,
)
from flowno_core.errors import NodeConfigurationError

LIMIT = 40  # generations of the cycle in the subprocess tests


@node
async def Inc(x: int = 0) -> int:
    return x + 1


@node
async def Src() -> int:
    return 1


@node
async def Add(a: int, b: int = 1) -> int:
    return a + b


def cycle() -> FlowHDL:
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Inc(f.b)
        f.b = Inc(f.a)
        f.total = Add(f.a, f.b)
    return f


def run_to(f: FlowHDL, generation: int, **options) -> None:
    try:
        f.run_until_complete(stop_at_node_generation={f.a: (generation,)}, **options)
    except TerminateLimitReached:
        pass


# -- in one process ----------------------------------------------------------------------------------
def test_a_completed_checkpoint_leaves_nothing_to_do(tmp_path):
    path = tmp_path / "run.sqlite"
    calls: list[int] = []

    @node
    async def Counted(x: int) -> int:
        calls.append(x)
        return x * 2

    def flow() -> FlowHDL:
        with FlowHDL(clock=VirtualClock()) as f:
            f.src = Src()
            f.double = Counted(f.src)
            f.last = Add(f.double)
        return f

    first = flow()
    assert first.run_until_complete(checkpoint=path).totals.evaluations == 3
    again = flow()
    report = again.run_until_complete(checkpoint=path)
    assert report.totals.evaluations == 0 and calls == [1]  # nothing left: no node ran again
    assert again.last.get_data() == (3,) and again.last.generation == (0,)


@pytest.mark.parametrize("stop, then", [(3, 9), (1, 2), (5, 6), (0, 7)])
def test_stopped_saved_and_resumed_by_a_new_flow_equals_a_straight_run(stop, then):
    store = MemoryStore()
    first = cycle()
    run_to(first, stop, checkpoint=store)
    resumed = cycle()
    run_to(resumed, then, checkpoint=store)
    straight = cycle()
    run_to(straight, then)
    for name in ("a", "b", "total"):
        assert getattr(resumed, name).get_data() == getattr(straight, name).get_data(), name
        assert getattr(resumed, name).generation == getattr(straight, name).generation, name
    evaluations = resumed.last_report.totals.evaluations
    assert evaluations < straight.last_report.totals.evaluations  # only the remaining work


def test_a_checkpoint_of_another_flow_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "run.sqlite"
    run_to(cycle(), 2, checkpoint=path)
    before = path.read_bytes()
    with FlowHDL(clock=VirtualClock()) as other:
        other.src = Src()
        other.plus = Add(other.src)
    with pytest.raises(CheckpointMismatch, match="another flow"):
        other.run_until_complete(checkpoint=path)
    assert other.src.get_data() is None  # nothing ran, nothing loaded
    assert path.read_bytes() == before
    run_to(cycle(), 3, checkpoint=path)  # the file is still usable by its own flow


def test_a_corrupt_file_is_refused_with_its_path(tmp_path):
    path = tmp_path / "run.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    f = cycle()
    with pytest.raises(CheckpointCorrupt, match=str(path.name)):
        f.run_until_complete(checkpoint=path)
    assert f.a.get_data() is None


def test_an_unpicklable_value_ends_the_run_naming_node_and_output(tmp_path):
    @node(multiple_outputs=True)
    async def Pair() -> tuple[int, object]:
        return 1, (lambda: None)

    with FlowHDL(clock=VirtualClock()) as f:
        f.pair = Pair()
        f.use = Add(f.pair.output(0))
    with pytest.raises(UnpicklableValue) as info:
        f.run_until_complete(checkpoint=tmp_path / "run.sqlite")
    assert "output 1 of node Pair#0 at generation (0,)" in str(info.value)
    assert f.last_report.error is info.value and not f.last_report.ok


def test_a_bad_checkpoint_argument_is_refused():
    with pytest.raises(TypeError, match="checkpoint="):
        cycle().run_until_complete(checkpoint=42)


def test_the_file_is_closed_after_the_run_so_another_process_may_open_it(tmp_path):
    path = tmp_path / "run.sqlite"
    run_to(cycle(), 2, checkpoint=path)
    with contextlib.closing(sqlite3.connect(path)) as db:  # locked while a store holds it open
        assert db.execute("SELECT count(*) FROM latest").fetchone()[0] > 0


# -- the node cache ----------------------------------------------------------------------------------
SQUARED: list[int] = []  # (a global: a list in a closure would be part of the cache key)


@node(cache=True)
async def Square(x: int) -> int:
    SQUARED.append(x)
    return x * x


def test_cache_skips_an_evaluation_with_the_same_inputs_and_code():
    SQUARED.clear()

    with FlowHDL(clock=VirtualClock()) as f:
        f.src = Src()
        f.square = Square(f.src)
        f.other = Square(f.square)
    first = f.run_until_complete()
    second = f.run_until_complete()
    assert SQUARED == [1]  # Square(1) for f.square; f.other's Square(1) and the second run: cached
    assert f.other.get_data() == (1,)
    attempts = {r.node_name: r.attempts for r in second.evaluations}
    assert attempts["Square#0"] == 0 and attempts["Square#1"] == 0  # served from the cache
    assert {r.node_name: r.attempts for r in first.evaluations}["Square#0"] == 1


def test_cache_refused_where_it_cannot_apply():
    with pytest.raises(NodeConfigurationError, match="streaming node"):

        @node(cache=True)
        async def Tokens():
            yield 1

    with pytest.raises(NodeConfigurationError, match="class"):

        @node(cache=True)
        class Counter:
            async def call(self, x: int) -> int:
                return x


# -- across processes --------------------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys
    from flowno_core import FlowHDL, TerminateLimitReached, node, sleep

    @node
    async def Inc(x: int = 0) -> int:
        print(x, flush=True)  # the value it read; what it read before this is committed by now
        await sleep(0.001)    # (a real wait: the loop flushes the checkpoint meanwhile)
        return x + 1

    @node
    async def Add(a: int, b: int = 1) -> int:
        return a + b

    with FlowHDL() as f:
        f.a = Inc(f.b)
        f.b = Inc(f.a)
        f.total = Add(f.a, f.b)
    try:
        f.run_until_complete(stop_at_node_generation={f.a: (int(sys.argv[2]),)}, checkpoint=sys.argv[1])
    except TerminateLimitReached:
        pass
    print("done", f.a.get_data()[0], f.b.get_data()[0], f.total.get_data()[0], f.last_report.totals.evaluations, flush=True)
    """
)


def saved_values(path: Path) -> dict[str, int]:
    """The values of a and b (node keys 0 and 1) committed in the file, read with sqlite3 itself
    (0 for none): what any reader of the file would find after the kill."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = dict(db.execute("SELECT key, outputs FROM latest WHERE key IN ('node 0', 'node 1')").fetchall())
    values = {}
    for index, name in enumerate("ab"):
        blob = rows.get(f"node {index}")
        values[name] = 0 if blob is None else pickle.loads(pickle.loads(blob)[0])
    return values


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_at_random_moments_loses_no_committed_generation(tmp_path):
    path = tmp_path / "run.sqlite"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random("checkpoint sigkill")
    committed = 0
    for round_ in range(4):
        with subprocess.Popen(
            [sys.executable, str(script), str(path), str(LIMIT)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as child:
            assert child.stdout is not None
            seen = [child.stdout.readline().strip() for _ in range(rng.randint(2, 12))]
            child.send_signal(signal.SIGKILL)
            rest, errors = child.communicate(timeout=60)
        assert child.returncode == -signal.SIGKILL, errors
        values = [int(line) for line in seen + rest.split() if line.lstrip("-").isdigit()]
        saved = saved_values(path)
        progress = max(saved.values())
        # every value read before the last one printed had been committed: none of it is lost
        assert progress >= max(values[-2], committed), (round_, values, saved)
        assert abs(saved["a"] - saved["b"]) == 1 or saved["b"] == 0, saved  # one consistent moment of the cycle
        committed = progress
    finish = subprocess.run([sys.executable, str(script), str(path), str(LIMIT)], capture_output=True, text=True, timeout=60)
    assert finish.returncode == 0, finish.stderr
    done = finish.stdout.split("\n")[-2].split()
    straight = cycle()
    run_to(straight, LIMIT)
    assert done[0] == "done"
    assert [int(v) for v in done[1:4]] == [straight.a.get_data()[0], straight.b.get_data()[0], straight.total.get_data()[0]]
    assert int(done[4]) < straight.last_report.totals.evaluations  # it did only what was left


def streaming_cycle() -> FlowHDL:
    @node
    async def Count(x: int = 0) -> int:
        return x + 1

    @node
    async def Chunks(n: int):
        for i in range(n % 3 + 1):
            yield i * n

    @node(stream_in=["xs"])
    async def Total(xs) -> int:
        total = 0
        async for x in xs:
            total += x
        return total

    with FlowHDL(clock=VirtualClock()) as f:
        f.count = Count(f.total)
        f.chunks = Chunks(f.count)
        f.total = Total(f.chunks)
    return f


@pytest.mark.parametrize("stop", [("count", (1,)), ("count", (4,)), ("chunks", (2, 0)), ("chunks", (5, 1)), ("total", (3,))])
def test_a_cycle_through_a_stream_resumed_from_a_checkpoint_equals_a_straight_run(stop):
    """Stopped at a final value or mid-lap (a cut lap is not saved: it is streamed again)."""
    name, generation = stop

    def run(f: FlowHDL, limit: dict, **options) -> None:
        try:
            f.run_until_complete(stop_at_node_generation=limit, **options)
        except TerminateLimitReached:
            pass

    store = MemoryStore()
    first = streaming_cycle()
    run(first, {getattr(first, name): generation}, checkpoint=store)
    resumed = streaming_cycle()
    run(resumed, {resumed.count: (9,)}, checkpoint=store)
    straight = streaming_cycle()
    run(straight, {straight.count: (9,)})
    for name in ("count", "chunks", "total"):
        assert getattr(resumed, name).get_data() == getattr(straight, name).get_data(), name
        assert getattr(resumed, name).generation == getattr(straight, name).generation, name
