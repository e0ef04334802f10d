"""to_dask and @node(offload=client) (issue 14) on a real dask.distributed LocalCluster with two
worker processes: results, a worker's exception, cancellation by a node timeout."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from flowno_core import FlowHDL, NodeTimeoutError, node, to_dask

distributed = pytest.importorskip("distributed")  # (installed by the test extra: the tests run in CI)
pytestmark = pytest.mark.usefixtures("real_clock")  # a real cluster


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=50
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def where(x: int) -> tuple[int, int]:
    return x * 10, os.getpid()


def fails(x: int) -> int:
    raise OverflowError(f"too big: {x}")


def lingers(seconds: float) -> str:
    time.sleep(seconds)
    return "late"


def test_to_dask_runs_on_the_cluster_workers(client):
    @node
    async def Remote(x: int) -> tuple[int, int]:
        return await to_dask(where, x, client=client)

    @node
    async def Collect(*pairs: tuple[int, int]) -> list[tuple[int, int]]:
        return list(pairs)

    with FlowHDL() as f:
        f.all = Collect(*(Remote(x) for x in range(6)))
    f.run_until_complete()
    (pairs,) = f.all.get_data()
    assert [value for value, _ in pairs] == [x * 10 for x in range(6)]
    worker_pids = set(client.run(os.getpid).values())
    assert {pid for _, pid in pairs} <= worker_pids and os.getpid() not in worker_pids


def test_a_workers_exception_is_raised_in_the_node(client):
    @node
    async def Remote() -> int:
        return await to_dask(fails, 7, client=client)

    with FlowHDL() as f:
        f.remote = Remote()
    with pytest.raises(OverflowError, match="too big: 7") as info:
        f.run_until_complete()
    assert any("(Remote)" in note for note in info.value.__notes__)


def test_a_node_timeout_cancels_the_dask_task(client):
    @node(timeout=0.3)
    async def Slow() -> str:
        return await to_dask(lingers, 3, client=client)  # (a running dask task finishes on its worker)

    with FlowHDL() as f:
        f.slow = Slow()
    with pytest.raises(NodeTimeoutError):
        f.run_until_complete()


def test_the_default_client_is_used_when_none_is_given(client):
    @node
    async def Remote(x: int) -> tuple[int, int]:
        return await to_dask(where, x)

    with FlowHDL() as f:
        f.remote = Remote(4)
    f.run_until_complete()
    assert f.remote.get_data()[0][0] == 40


def test_offload_to_a_client_runs_a_plain_def_node_on_the_cluster(client):
    @node(offload=client)
    def Times(a: int, b: int) -> tuple[int, int]:  # (local: dask sends it by value)
        return a * b, os.getpid()

    with FlowHDL() as f:
        f.times = Times(6, 7)
    f.run_until_complete()
    value, pid = f.times.get_data()[0]
    assert value == 42 and pid in set(client.run(os.getpid).values())


class RecordingClient:
    """The real client, with the futures it hands out kept for the test to inspect."""

    def __init__(self, client: object) -> None:
        self.client = client
        self.futures: list[object] = []

    def submit(self, *args: object, **kwargs: object) -> object:
        future = self.client.submit(*args, **kwargs)  # type: ignore[attr-defined]
        self.futures.append(future)
        return future


def test_a_cancelled_node_cancels_its_task_on_the_scheduler(client):
    recording = RecordingClient(client)
    blockers = [client.submit(lingers, 2.0, pure=False) for _ in range(2)]  # both workers busy

    @node(timeout=0.3)
    async def Queued() -> str:
        return await to_dask(lingers, 30, client=recording)  # waits in the scheduler's queue

    with FlowHDL() as f:
        f.queued = Queued()
    with pytest.raises(NodeTimeoutError):
        f.run_until_complete()
    (future,) = recording.futures
    key = future.key

    def known(dask_scheduler, key=key):  # type: ignore[no-untyped-def]
        task = dask_scheduler.tasks.get(key)
        return None if task is None else task.state

    assert future.status == "cancelled"
    deadline = time.monotonic() + 30.0  # the scheduler hears of it asynchronously
    while client.run_on_scheduler(known) not in (None, "released", "forgotten"):
        assert time.monotonic() < deadline, f"the scheduler still has {key}: {client.run_on_scheduler(known)}"
        time.sleep(0.02)
    assert [blocker.result() for blocker in blockers] == ["late", "late"]  # the cluster is fine
