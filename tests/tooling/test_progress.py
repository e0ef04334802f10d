"""The progress line: what it counts, how often it is drawn, and that it is off by default."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from flowno_core import FlowHDL, Stream, TerminateLimitReached, node, sleep
from flowno_core.testing import VirtualClock
from flowno_core.tooling.progress import REFRESH_SECONDS, ProgressDisplay

from toolhelpers import Numbers, Total

ROOT = Path(__file__).resolve().parents[2]


@node
async def Count(previous: int = 0):
    await sleep(0.5)
    return previous + 1


@node
async def Fail(value: int):
    raise ValueError(f"no {value}")


def streaming_flow(count: int) -> FlowHDL:
    with FlowHDL(clock=VirtualClock()) as f:
        f.numbers = Numbers(count)
        f.total = Total(f.numbers)
    return f


def name_of(f: FlowHDL) -> str:
    return repr(f._flow).strip("<>")


def fake_real_clock(step: float):
    """A real clock that advances ``step`` seconds each time it is read."""
    ticks = itertools.count()
    return lambda: next(ticks) * step


def test_the_final_line_states_the_totals():
    f = streaming_flow(30)
    line = io.StringIO()
    with ProgressDisplay(line, style="plain", real_clock=fake_real_clock(0.0)):
        report = f.run_until_complete()
    assert report.totals.evaluations == 3  # numbers, total and the hidden constant 30
    assert line.getvalue().endswith("\n")
    assert line.getvalue().splitlines()[-1] == (
        f"flow {name_of(f)} completed in 3.000s: 3 evaluations, 30 chunks (10.0/s), generation (0,)"
    )


def test_the_line_is_redrawn_at_most_four_times_a_second_of_real_time():
    f = streaming_flow(200)
    line = io.StringIO()
    step = 0.01  # the flow's events come 10 ms of real time apart: 200 chunks take 2 s or more
    clock = fake_real_clock(step)
    with ProgressDisplay(line, style="plain", real_clock=clock):
        f.run_until_complete()
    real_seconds = clock()
    drawings = line.getvalue().split("\r")[1:]
    assert len(drawings) - 1 <= real_seconds / REFRESH_SECONDS  # (the last drawing is the final line)
    assert len(drawings) >= 4
    middle = drawings[len(drawings) // 2]
    assert middle.startswith(f"flow {name_of(f)}: 3 evaluations, ") and "chunks (10.0/s), generation (0, " in middle


def test_the_generation_reached_in_a_cycle_and_a_limit():
    with FlowHDL(clock=VirtualClock()) as f:
        f.count = Count(f.count)
    line = io.StringIO()
    with ProgressDisplay(line, style="plain"), pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation=(4,))
    assert line.getvalue().splitlines()[-1] == (
        f"flow {name_of(f)} limit reached in 2.500s: 5 evaluations, 0 chunks (0.0/s), generation (4,)"
    )


def test_a_failed_run_says_so():
    with FlowHDL(clock=VirtualClock()) as f:
        f.count = Count(f.count)
        f.fail = Fail(f.count)
    line = io.StringIO()
    with ProgressDisplay(line, style="plain"), pytest.raises(ValueError):
        f.run_until_complete()
    assert line.getvalue().splitlines()[-1].startswith(f"flow {name_of(f)} failed in 0.500s: 2 evaluations, 0 chunks")


def test_progress_true_writes_to_stderr_and_leaves_nothing_installed(capsys):
    from flowno_core._graph.runtime.instruments import active_flow_instrument

    f = streaming_flow(5)
    f.run_until_complete(progress=True)
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == f"flow {name_of(f)} completed in 0.500s: 3 evaluations, 5 chunks (10.0/s), generation (0,)"
    assert active_flow_instrument() is None


def test_progress_is_off_by_default():
    f = streaming_flow(5)
    f.run_until_complete()
    assert f._flow._run.instrument is None  # no instrument: the runtime's plain path


def test_the_tqdm_style_ends_with_the_same_line():
    import tqdm  # noqa: F401  (a test dependency, and the progress extra)

    f = streaming_flow(5)
    line = io.StringIO()
    with ProgressDisplay(line, style="tqdm"):
        f.run_until_complete()
    assert line.getvalue().splitlines()[-1] == (
        f"flow {name_of(f)} completed in 0.500s: 3 evaluations, 5 chunks (10.0/s), generation (0,)"
    )


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="'auto', 'tqdm' or 'plain'"):
        ProgressDisplay(style="fancy")  # type: ignore[arg-type]


def test_run_progress_on_the_command_line(tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(
        "from flowno_core import FlowHDL, Stream, node, sleep\n"
        "from flowno_core.testing import VirtualClock\n"
        "@node\n"
        "async def Numbers(count: int):\n"
        "    for index in range(count):\n"
        "        await sleep(0.1)\n"
        "        yield index\n"
        "with FlowHDL(clock=VirtualClock()) as f:\n"
        "    f.numbers = Numbers(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "flowno_core", "run", "--progress", str(script)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[-1] == "flow Flow#0 completed in 0.300s: 2 evaluations, 3 chunks (10.0/s), generation (0,)"
