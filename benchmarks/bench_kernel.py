"""Kernel micro-benchmarks: task switch, spawn+join, queue ping-pong (flowno_core vs asyncio vs flowno).

Cases (cost per operation, microseconds, lower is better):

* ``switch``: two tasks each ``await sleep(0)`` size/2 times; one operation = one ``sleep(0)``
  (a suspension and a resumption through the scheduler). asyncio: ``asyncio.sleep(0)``.
* ``spawn_join``: the root spawns a trivial task and joins it, ``size`` times in sequence
  (flowno_core/flowno: ``await spawn(c)`` + ``await handle.join()``; asyncio: ``create_task`` + await).
* ``queue_pingpong``: the root puts an item on queue A, an echo task gets it and puts it on queue B,
  the root gets it back: one operation = one round trip (2 puts, 2 gets, 2 task switches).
  flowno_core/flowno: ``AsyncQueue``; asyncio: ``asyncio.Queue``.

``bare_loop`` (switch only) is a 15-line round-robin scheduler of bare generators: the floor a
Python-level loop can reach. The timed region is inside the root coroutine (loop creation and
teardown are excluded). Targets (issue 3): flowno_core <= asyncio on all three, >= 20x faster than
flowno.

Run alone: ``python benchmarks/bench_kernel.py [--quick]`` (needs flowno==0.1.19 installed for the
flowno column; ``python benchmarks/run.py`` sets everything up).
"""

from __future__ import annotations

import asyncio
import collections
import time
import types
from typing import Any

import _common as c

BENCH = "kernel"
IMPLS = ["flowno_core", "asyncio", "flowno", "bare_loop"]
CASES = ["switch", "spawn_join", "queue_pingpong"]


def plan(quick: bool) -> list[c.Job]:
    sizes = {"switch": 20_000, "spawn_join": 4_000, "queue_pingpong": 4_000} if quick else \
        {"switch": 200_000, "spawn_join": 40_000, "queue_pingpong": 40_000}
    jobs = []
    for case in CASES:
        for impl in IMPLS:
            if impl == "bare_loop" and case != "switch":
                continue
            reps = 2 if quick else (5 if impl == "flowno" else 9)
            size = sizes[case]
            jobs.append(c.Job(case, size, impl, reps, timeout=300 if quick else 900))
    return jobs


def probe(impl: str) -> None:
    if impl in ("flowno_core", "flowno"):
        c.import_or_unavailable(impl)


# ------------------------------------------------------------------------------------------------
# flowno_core and flowno share the code (same API)
# ------------------------------------------------------------------------------------------------
def _own_loop_case(pkg: Any, case: str, n: int) -> float:
    sleep, spawn, AsyncQueue = pkg.sleep, pkg.spawn, pkg.AsyncQueue

    async def pinger(count: int) -> None:
        for _ in range(count):
            await sleep(0)

    async def child() -> int:
        return 1

    async def echo(inbox: Any, outbox: Any, count: int) -> None:
        for _ in range(count):
            await outbox.put(await inbox.get())

    async def root() -> float:
        if case == "switch":
            t0 = time.perf_counter()
            a = await spawn(pinger(n // 2))
            b = await spawn(pinger(n // 2))
            await a.join()
            await b.join()
            return time.perf_counter() - t0
        if case == "spawn_join":
            t0 = time.perf_counter()
            for _ in range(n):
                handle = await spawn(child())
                await handle.join()
            return time.perf_counter() - t0
        qa, qb = AsyncQueue(), AsyncQueue()
        t0 = time.perf_counter()
        task = await spawn(echo(qa, qb, n))
        for i in range(n):
            await qa.put(i)
            await qb.get()
        await task.join()
        return time.perf_counter() - t0

    return pkg.EventLoop().run_until_complete(root(), join=True)


def _asyncio_case(case: str, n: int) -> float:
    async def pinger(count: int) -> None:
        for _ in range(count):
            await asyncio.sleep(0)

    async def child() -> int:
        return 1

    async def echo(inbox: asyncio.Queue, outbox: asyncio.Queue, count: int) -> None:
        for _ in range(count):
            await outbox.put(await inbox.get())

    async def root() -> float:
        if case == "switch":
            t0 = time.perf_counter()
            a = asyncio.create_task(pinger(n // 2))
            b = asyncio.create_task(pinger(n // 2))
            await a
            await b
            return time.perf_counter() - t0
        if case == "spawn_join":
            t0 = time.perf_counter()
            for _ in range(n):
                await asyncio.create_task(child())
            return time.perf_counter() - t0
        qa: asyncio.Queue = asyncio.Queue()
        qb: asyncio.Queue = asyncio.Queue()
        t0 = time.perf_counter()
        task = asyncio.create_task(echo(qa, qb, n))
        for i in range(n):
            await qa.put(i)
            await qb.get()
        await task
        return time.perf_counter() - t0

    return asyncio.run(root())


@types.coroutine
def _bare_yield():  # type: ignore[no-untyped-def]
    yield None


def _bare_loop_switch(n: int) -> float:
    """The floor: a deque of generator-based coroutines resumed round-robin, no commands at all."""

    async def pinger(count: int) -> None:
        for _ in range(count):
            await _bare_yield()

    ready = collections.deque([pinger(n // 2), pinger(n // 2)])
    t0 = time.perf_counter()
    while ready:
        task = ready.popleft()
        try:
            task.send(None)
        except StopIteration:
            continue
        ready.append(task)
    return time.perf_counter() - t0


def run_job(job: c.Job) -> c.Result:
    if job.impl == "asyncio":
        once = lambda n: _asyncio_case(job.case, n)  # noqa: E731
    elif job.impl == "bare_loop":
        once = _bare_loop_switch
    else:
        pkg = c.import_or_unavailable(job.impl)
        once = lambda n: _own_loop_case(pkg, job.case, n)  # noqa: E731
    times = c.repeat(once, job.size, job.reps, warmup_size=max(job.size // 10, 100))
    return c.cost_result(BENCH, job, times, job.size, "us/op")


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    out = []
    for case in CASES:
        size = next((r.size for r in results if r.case == case), None)
        if size is None:
            continue
        out.append(c.speedup_check(table, case, size, "asyncio", 1.0, f"{case}: <= asyncio"))
        out.append(c.speedup_check(table, case, size, "flowno", 20.0, f"{case}: >= 20x flowno"))
    return out


if __name__ == "__main__":
    c.main(__import__(__name__))
