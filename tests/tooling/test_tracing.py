"""TraceRecorder: Chrome/Perfetto trace-event JSON and the plain-text timeline, in virtual time."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from flowno_core import FlowHDL, Stream, TerminateLimitReached, node, sleep
from flowno_core.instrumentation import FlowInstrument
from flowno_core.testing import VirtualClock
from flowno_core.tooling.progress import ProgressDisplay
from flowno_core.tooling.tracing import TraceRecorder

from toolhelpers import Numbers, Total

ROOT = Path(__file__).resolve().parents[2]


@node
async def Average(total: int, count: int):
    await sleep(0.05)
    return total / count


@node
async def Count(previous: int = 0):
    await sleep(1)
    return previous + 1


@node
async def Double(value: int):
    return 2 * value


def streaming_flow(count: int = 4) -> FlowHDL:
    with FlowHDL(clock=VirtualClock()) as f:
        f.numbers = Numbers(count)
        f.total = Total(f.numbers)
        f.avg = Average(f.total, count)
    return f


def failing_flow() -> FlowHDL:
    with FlowHDL(clock=VirtualClock()) as f:
        f.numbers = Numbers(2)
        f.total = Total(f.numbers)
        f.bad_avg = Average(f.total, 0)
    return f


def load(path: Path) -> list[dict]:
    with open(path) as file:
        return json.load(file)["traceEvents"]


def thread_names(events: list[dict]) -> dict[int, str]:
    names = [(e["tid"], e["args"]["name"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert len(names) == len({tid for tid, _ in names}), "one thread_name per track"
    return dict(names)


def slices_by_track(events: list[dict]) -> dict[int, list[dict]]:
    tracks = defaultdict(list)
    for event in events:
        if event["ph"] == "X":
            tracks[event["tid"]].append(event)
    return tracks


def enclosed(event: dict, slices: list[dict]) -> bool:
    return any(s["ts"] <= event["ts"] <= s["ts"] + s["dur"] for s in slices)


def check_arrows(events: list[dict]) -> list[tuple[int, int]]:
    """Every flow arrow is one ``s`` and one ``f`` with the same id, each inside a slice of its own
    track, the ``f`` not before the ``s``; returns the (producer tid, consumer tid) of each arrow."""
    by_id: dict[int, dict[str, dict]] = defaultdict(dict)
    for event in events:
        if event["ph"] in ("s", "f"):
            assert event["ph"] not in by_id[event["id"]], f"arrow {event['id']} has two {event['ph']} events"
            by_id[event["id"]][event["ph"]] = event
    slices = slices_by_track(events)
    arrows = []
    for ends in by_id.values():
        assert set(ends) == {"s", "f"}
        start, finish = ends["s"], ends["f"]
        assert finish["bp"] == "e" and start["ts"] <= finish["ts"]
        assert enclosed(start, slices[start["tid"]]) and enclosed(finish, slices[finish["tid"]])
        arrows.append((start["tid"], finish["tid"]))
    return arrows


def test_a_streaming_flow_gives_tracks_slices_chunks_and_arrows(tmp_path):
    f = streaming_flow(count=4)
    path = tmp_path / "trace.json"
    with TraceRecorder(path):
        report = f.run_until_complete()
    events = load(path)

    names = thread_names(events)
    assert sorted(names.values()) == ["avg (Average)", "numbers (Numbers)", "run", "total (Total)"]  # no Constant#
    tid = {name.split(" ")[0]: t for t, name in names.items()}
    processes = [e for e in events if e["ph"] == "M" and e["name"] == "process_name"]
    assert [p["args"]["name"] for p in processes] == [f"flow {f._flow!r}".strip("<>").replace("<", "")]

    slices = slices_by_track(events)
    assert all(s["dur"] >= 0 for track in slices.values() for s in track)
    evaluations = {names[t]: [(s["args"]["generation"], s["args"]["status"]) for s in slices[t]] for t in slices if t}
    assert evaluations == {
        "numbers (Numbers)": [("(0,)", "succeeded")],
        "total (Total)": [("(0,)", "succeeded")],
        "avg (Average)": [("(0,)", "succeeded")],
    }
    assert sum(len(track) for t, track in slices.items() if t) == report.totals.evaluations - 2  # (2 constants)
    assert [(s["name"], s["args"]["outcome"]) for s in slices[0]] == [("run completed", "completed")]
    numbers = slices[tid["numbers"]][0]
    assert (numbers["ts"], numbers["dur"]) == (0.0, 400000.0)  # microseconds of the virtual clock
    assert (slices[tid["avg"]][0]["ts"], slices[tid["avg"]][0]["dur"]) == (400000.0, 50000.0)

    chunks = [e for e in events if e["ph"] == "i" and e["cat"] == "chunk"]
    assert [(c["tid"], c["ts"], c["args"]["generation"], c["args"]["value"]) for c in chunks] == [
        (tid["numbers"], 100000.0 * (index + 1), f"(0, {index})", str(index)) for index in range(4)
    ]
    values = Counter(e["tid"] for e in events if e["ph"] == "i" and e["cat"] == "value")
    assert values == {tid["numbers"]: 1, tid["total"]: 1, tid["avg"]: 1}

    arrows = Counter(check_arrows(events))
    assert arrows == {(tid["numbers"], tid["total"]): 4, (tid["total"], tid["avg"]): 1}


def test_chunk_instants_count_the_chunks_published(tmp_path):
    class CountChunks(FlowInstrument):
        chunks = 0

        def on_node_emitted_data(self, flow, node, data, run_level):
            if run_level == 1:
                self.chunks += 1

    f = streaming_flow(count=25)
    with CountChunks() as counter, TraceRecorder() as trace:  # (the recorder joins the active instrument)
        f.run_until_complete()
    chunk_events = [e for e in trace.to_dict()["traceEvents"] if e["ph"] == "i" and e["cat"] == "chunk"]
    assert counter.chunks == 25 == len(chunk_events)


def test_a_failing_node_shows_its_error_and_the_file_is_valid_when_the_run_raises(tmp_path):
    f = failing_flow()
    path = tmp_path / "failed.json"
    with pytest.raises(ZeroDivisionError):
        with TraceRecorder(path):
            f.run_until_complete()
    events = load(path)
    names = thread_names(events)
    failed = [e for e in events if e["ph"] == "X" and e["args"].get("status") == "failed"]
    assert len(failed) == 1
    assert names[failed[0]["tid"]] == "bad_avg (Average)"
    assert failed[0]["args"]["error"] == "ZeroDivisionError: division by zero"
    assert failed[0]["args"]["generation"] == "(0,)"
    run = [e for e in events if e["ph"] == "X" and e["tid"] == 0]
    assert [r["name"] for r in run] == ["run failed: ZeroDivisionError: division by zero"]
    check_arrows(events)


def test_the_timeline_tells_the_run_in_order_with_user_names():
    f = failing_flow()
    name = repr(f._flow).strip("<>")
    with TraceRecorder() as trace, pytest.raises(ZeroDivisionError):
        f.run_until_complete()
    assert trace.timeline() == [
        f"   0.000s  {name:<17}  run started",
        "   0.000s  numbers (Numbers)  gen (0,)  started",
        "   0.100s  numbers (Numbers)  gen (0, 0)  chunk: 0",
        "   0.100s  total (Total)      gen (0,)  started",
        "   0.200s  numbers (Numbers)  gen (0, 1)  chunk: 1",
        "   0.200s  numbers (Numbers)  gen (0,)  value: 1",
        "   0.200s  numbers (Numbers)  gen (0,)  succeeded",
        "   0.200s  total (Total)      gen (0,)  value: 1",
        "   0.200s  total (Total)      gen (0,)  succeeded",
        "   0.200s  bad_avg (Average)  gen (0,)  started",
        "   0.250s  bad_avg (Average)  gen (0,)  failed: ZeroDivisionError: division by zero",
        f"   0.250s  {name:<17}  run failed: ZeroDivisionError: division by zero",
    ]


def test_runs_stopped_at_a_limit_and_continued_are_one_trace():
    with FlowHDL(clock=VirtualClock()) as f:
        f.count = Count(f.count)
        f.double = Double(f.count)
    with TraceRecorder() as trace:
        for limit in (1, 2):
            with pytest.raises(TerminateLimitReached):
                f.run_until_complete(stop_at_node_generation={f.count: (limit,)})
    events = trace.to_dict()["traceEvents"]
    names = thread_names(events)
    slices = slices_by_track(events)
    by_name = {names[t]: [s["args"].get("generation") for s in track] for t, track in slices.items()}
    assert by_name == {"run": [None, None], "count (Count)": ["(0,)", "(1,)", "(2,)"], "double (Double)": ["(0,)", "(1,)"]}
    assert [s["name"] for s in slices[0]] == ["run limit reached", "run limit reached"]
    tid = {name: t for t, name in names.items()}
    arrows = Counter(check_arrows(events))
    # count reads its own previous value (the cycle), double reads count's
    assert arrows == {(tid["count (Count)"], tid["count (Count)"]): 2, (tid["count (Count)"], tid["double (Double)"]): 2}
    starts = [line.split("count (Count)")[1].strip() for line in trace.timeline() if "count (Count)" in line and "started" in line]
    assert starts == ["gen (0,)  started", "gen (1,)  started", "gen (2,)  started"]


def test_the_recorder_and_the_progress_line_see_the_same_run():
    f = streaming_flow(count=3)
    line = io.StringIO()
    with TraceRecorder() as trace, ProgressDisplay(line, style="plain"):
        f.run_until_complete()
    assert sum(e["ph"] == "i" and e["cat"] == "chunk" for e in trace.events) == 3
    assert "3 chunks" in line.getvalue().splitlines()[-1]


def test_nothing_is_installed_after_the_block():
    from flowno_core._graph.runtime.instruments import active_flow_instrument

    with TraceRecorder():
        assert active_flow_instrument() is not None
    assert active_flow_instrument() is None
    f = streaming_flow()
    f.run_until_complete()
    assert f._flow._run.instrument is None


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowno_core", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


SCRIPT = """
from flowno_core import FlowHDL, Stream, node, sleep
from flowno_core.testing import VirtualClock

@node
async def Numbers(count: int):
    for index in range(count):
        await sleep(0.1)
        yield index

@node(stream_in=["values"])
async def Total(values: Stream[int]):
    total = 0
    async for value in values:
        total += value
    return total

@node
async def Average(total: int, count: int):
    return total / count

with FlowHDL(clock=VirtualClock()) as f:
    f.numbers = Numbers(3)
    f.total = Total(f.numbers)
    f.bad_avg = Average(f.total, COUNT)
"""


def test_run_trace_writes_a_trace_of_the_script(tmp_path):
    (tmp_path / "flow.py").write_text(SCRIPT.replace("COUNT", "3"))
    result = run_cli("run", "--trace", "out.json", "flow.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "trace written to out.json" in result.stderr
    events = load(tmp_path / "out.json")
    assert {"numbers (Numbers)", "total (Total)", "bad_avg (Average)"} <= set(thread_names(events).values())
    assert sum(e["ph"] == "i" and e["cat"] == "chunk" for e in events) == 3
    check_arrows(events)


def test_run_trace_writes_a_valid_file_when_the_script_fails(tmp_path):
    (tmp_path / "flow.py").write_text(SCRIPT.replace("COUNT", "0"))
    result = run_cli("run", "--trace", "out.json", "--progress", "flow.py", cwd=tmp_path)
    assert result.returncode != 0
    assert "ZeroDivisionError" in result.stderr
    events = load(tmp_path / "out.json")
    failed = [e for e in events if e["ph"] == "X" and e["args"].get("status") == "failed"]
    assert [e["args"]["error"] for e in failed] == ["ZeroDivisionError: division by zero"]
    assert "failed in 0.300s: 5 evaluations, 3 chunks (10.0/s), generation (0,)" in result.stderr  # (--progress)


def test_an_instrument_group_calls_every_member_also_the_context_hooks():
    from contextlib import contextmanager

    from flowno_core.instrumentation import InstrumentGroup

    class Lifecycles(FlowInstrument):
        def __init__(self):
            super().__init__()
            self.entered = self.left = 0

        @contextmanager
        def node_lifecycle(self, flow, node, run_level):
            self.entered += 1
            try:
                yield
            finally:  # (a lap's last step leaves with StopAsyncIteration)
                self.left += 1

    first, second = Lifecycles(), Lifecycles()
    with InstrumentGroup(first, second), TraceRecorder() as trace:
        streaming_flow(count=3).run_until_complete()
    assert first.entered == second.entered == first.left == second.left > 3
    assert sum(e["ph"] == "i" and e["cat"] == "chunk" for e in trace.events) == 3
