"""The asyncio bridge and offload (issue 14): cost per call, flowno_core vs the same call from asyncio.

Cases (microseconds per call, lower is better; ``size`` calls one after another):

* ``asyncio_1ms``: an asyncio coroutine that awaits ``asyncio.sleep(0.001)`` (a short SDK call).
  flowno_core: ``await from_asyncio(coro())`` in a flowno_core task; asyncio: ``await coro()``.
* ``asyncio_1ms_x16``: the same with 16 calls in flight at a time (flowno_core: 16 tasks; asyncio:
  ``gather`` of 16), cost per call.
* ``thread_call``: a trivial function on a worker thread. flowno_core: ``await to_thread(fn)``;
  asyncio: ``await loop.run_in_executor(ThreadPoolExecutor, fn)`` (concurrent.futures from asyncio).
* ``process_call``: a trivial module-level function in a worker process. flowno_core:
  ``await to_process(fn)``; asyncio: ``run_in_executor(ProcessPoolExecutor, fn)``. The pools are
  made before the timed region on both sides.

Targets (issue 14): the bridge within 1.5x of the call made in plain asyncio; offload within 1.2x
of concurrent.futures used from asyncio.

Run alone: ``python benchmarks/bench_bridge.py [--quick]`` (``python benchmarks/run.py bridge``
sets everything up).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import _common as c

BENCH = "bridge"
IMPLS = ["flowno_core", "asyncio"]
CASES = ["asyncio_1ms", "asyncio_1ms_x16", "thread_call", "process_call"]
IN_FLIGHT = 16


def plan(quick: bool) -> list[c.Job]:
    sizes = {"asyncio_1ms": 100, "asyncio_1ms_x16": 800, "thread_call": 400, "process_call": 200} if quick else \
        {"asyncio_1ms": 500, "asyncio_1ms_x16": 4_000, "thread_call": 4_000, "process_call": 2_000}
    return [c.Job(case, sizes[case], impl, 2 if quick else 7, timeout=300 if quick else 900) for case in CASES for impl in IMPLS]


def probe(impl: str) -> None:
    if impl == "flowno_core":
        c.import_or_unavailable(impl)


def trivial() -> int:
    return 1


async def one_ms() -> int:
    await asyncio.sleep(0.001)
    return 1


# ------------------------------------------------------------------------------------------------
def _core_once(case: str, n: int) -> float:
    core = c.import_or_unavailable("flowno_core")

    async def calls(count: int) -> None:
        for _ in range(count):
            if case.startswith("asyncio"):
                await core.from_asyncio(one_ms())
            elif case == "thread_call":
                await core.to_thread(trivial)
            else:
                await core.to_process(trivial)

    async def root() -> float:
        await calls(1 if not case.startswith("process") else 4)  # start the helper / pool before timing
        t0 = time.perf_counter()
        if case == "asyncio_1ms_x16":
            handles = [await core.spawn(calls(n // IN_FLIGHT)) for _ in range(IN_FLIGHT)]
            for handle in handles:
                await handle.join()
        else:
            await calls(n)
        return time.perf_counter() - t0

    return core.EventLoop().run_until_complete(root(), join=True)  # type: ignore[no-any-return]


def _asyncio_once(case: str, n: int) -> float:
    async def root() -> float:
        loop = asyncio.get_running_loop()
        pool: Any = None
        if case == "thread_call":
            pool = ThreadPoolExecutor()
        elif case == "process_call":
            pool = ProcessPoolExecutor()
        try:
            if pool is not None:
                for _ in range(4):
                    await loop.run_in_executor(pool, trivial)
            t0 = time.perf_counter()
            if case == "asyncio_1ms":
                for _ in range(n):
                    await one_ms()
            elif case == "asyncio_1ms_x16":
                for _ in range(n // IN_FLIGHT):
                    await asyncio.gather(*(one_ms() for _ in range(IN_FLIGHT)))
            else:
                for _ in range(n):
                    await loop.run_in_executor(pool, trivial)
            return time.perf_counter() - t0
        finally:
            if pool is not None:
                pool.shutdown()

    return asyncio.run(root())


def run_job(job: c.Job) -> c.Result:
    if job.impl == "asyncio":
        once = lambda n: _asyncio_once(job.case, n)  # noqa: E731
    else:
        once = lambda n: _core_once(job.case, n)  # noqa: E731
    times = c.repeat(once, job.size, job.reps, warmup_size=None)
    return c.cost_result(BENCH, job, times, job.size, "us/call")


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    out = []
    for case, maximum in (("asyncio_1ms", 1.5), ("asyncio_1ms_x16", 1.5), ("thread_call", 1.2), ("process_call", 1.2)):
        size = next((r.size for r in results if r.case == case), None)
        if size is None:
            continue
        out.append(c.ratio_check(table, case, size, "asyncio", maximum, f"#14 {case}: within {maximum:g}x of asyncio",
                                 what="cost per call"))
    return out


if __name__ == "__main__":
    c.main(__import__(__name__))
