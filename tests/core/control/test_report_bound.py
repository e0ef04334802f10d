"""report_max_records bounds the report while the run goes on; summaries still count everything."""

from __future__ import annotations

import pytest

from flowno_core import FlowHDL, TerminateLimitReached, VirtualClock, node


@node
async def Inc(x: int = 0) -> int:
    return x + 1


def test_a_long_run_keeps_only_the_latest_records_and_exact_totals():
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Inc(f.b)
        f.b = Inc(f.a)
    with pytest.raises(TerminateLimitReached):
        f.run_until_complete(stop_at_node_generation={f.a: (500,)}, report_max_records=10)
    report = f.last_report
    assert len(report.evaluations) == 10 and report.truncated == 991
    assert report.totals.evaluations == report.totals.succeeded == 1001
    assert report.nodes["Inc#0"].evaluations == 501 and report.nodes["Inc#0"].last_generation == (500,)
    assert [r.generation for r in report.evaluations[-2:]] == [(499,), (500,)]


@pytest.mark.parametrize("bad", [-1, 1.5, "10", True])
def test_a_bad_bound_is_refused(bad):
    with FlowHDL(clock=VirtualClock()) as f:
        f.a = Inc()
    with pytest.raises(ValueError, match="report_max_records"):
        f.run_until_complete(report_max_records=bad)
