"""HTTP benchmarks over loopback: requests/s and streamed MB/s (higher is better).

Clients: ``flowno_core`` and ``flowno`` use their package's ``io.HttpClient`` (flowno's API:
``await client.get(url)``, ``await client.stream_get(url)`` then ``async for chunk in
response.body``); ``asyncio_h11`` is the plain baseline a user would write: ``asyncio.open_connection``
plus an ``h11.Connection``, sending the same request headers as flowno's client (Host, User-Agent,
Accept-Encoding, Connection: close), one connection per request like flowno's client.

Cases:

* ``get_seq``: N GETs of ``/hello`` one after another against the *reference server*
  (``_ref_server.py``: a small selectors loop with canned responses in its own process, so it runs on
  the second core and costs little; the client is what is measured). requests/s.
* ``get_conc16``: the same N requests with 16 in flight (16 tasks). requests/s.
* ``stream``: one ``stream_get`` of a chunked body of S bytes (64 KiB chunks) from the reference
  server; the client counts the bytes (checked). MB/s (10^6 bytes).
* ``own_server``: N sequential GETs where client and server are the same package in the same loop:
  ``HttpClient`` against ``HttpServer`` for flowno_core and flowno (``HttpServer(host, port).serve()``
  with its default response), the asyncio + h11 client against an asyncio + h11 server
  (``_h11_server.py``) in the same loop. requests/s. flowno 0.1.19's server calls a ``close()`` its SocketHandle lacks (SPEC
  §6.1 item 14); the benchmark catches that AttributeError and closes the socket itself.

Each job runs in one event-loop run: a warm-up, then ``reps`` timed repetitions inside the root
coroutine (flowno keeps one process-global selector, so one loop per process is the safe way to use
it). Target (issue 6): flowno_core at least as fast as the asyncio + h11 client.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from typing import Any

import _common as c

BENCH = "http"
IMPLS = ["flowno_core", "flowno", "asyncio_h11"]
CASES = ["get_seq", "get_conc16", "stream", "own_server"]
HOST = "127.0.0.1"
CONCURRENCY = 16


def plan(quick: bool) -> list[c.Job]:
    n_req = 200 if quick else 1_000
    n_bytes = 4 * 2**20 if quick else 32 * 2**20
    jobs = []
    for case in CASES:
        for impl in IMPLS:
            size = n_bytes if case == "stream" else n_req
            jobs.append(c.Job(case, size, impl, 2 if quick else 7, timeout=300 if quick else 900))
    return jobs


def probe(impl: str) -> None:
    if impl in ("flowno_core", "flowno"):
        c.io_package(impl)
    else:
        c.import_or_unavailable("h11")


# ------------------------------------------------------------------------------------------------
# reference server process
# ------------------------------------------------------------------------------------------------
class ReferenceServer:
    def __init__(self) -> None:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ref_server.py")
        self.proc = subprocess.Popen([sys.executable, script], stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.strip():
            self.close()
            raise RuntimeError("reference server did not start")
        self.port = int(line)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------------
# the measurement driver, written once for both kinds of loop
# ------------------------------------------------------------------------------------------------
async def measure(case: str, size: int, reps: int, get: Any, stream: Any, spawn_all: Any,
                  port: int) -> tuple[list[float], dict[str, Any]]:
    """Warm up, then time ``reps`` repetitions; returns the rates and some facts for the record."""
    hello = f"http://{HOST}:{port}/hello"
    facts: dict[str, Any] = {}

    async def one_get(url: str) -> None:
        status, body_len = await get(url)
        if not 200 <= status < 300:
            raise AssertionError(f"GET {url}: status {status}")
        facts["body_bytes"] = body_len

    async def run(n: int) -> float:
        t0 = time.perf_counter()
        if case in ("get_seq", "own_server"):
            url = hello if case == "get_seq" else f"http://{HOST}:{port}/"
            for _ in range(n):
                await one_get(url)
            return n / (time.perf_counter() - t0)
        if case == "get_conc16":
            counter = iter(range(n))

            async def worker() -> None:
                for _ in counter:
                    await one_get(hello)

            await spawn_all([worker() for _ in range(CONCURRENCY)])
            return n / (time.perf_counter() - t0)
        got = await stream(f"http://{HOST}:{port}/stream/{n}")
        dt = time.perf_counter() - t0
        if got != n:
            raise AssertionError(f"stream: received {got} bytes, expected {n}")
        return n / dt / 1e6

    await run(max(size // 10, 20) if case != "stream" else min(size, 2**20))
    rates = [await run(size) for _ in range(reps)]
    return rates, facts


# ------------------------------------------------------------------------------------------------
# flowno_core / flowno
# ------------------------------------------------------------------------------------------------
def _own_package_job(job: c.Job) -> tuple[list[float], dict[str, Any]]:
    io = c.io_package(job.impl)
    pkg = sys.modules[job.impl]
    client = io.HttpClient()

    async def get(url: str) -> tuple[int, int]:
        response = await client.get(url)
        return response.status_code, len(response.body)

    async def stream(url: str) -> int:
        response = await client.stream_get(url)
        if not 200 <= response.status_code < 300:
            raise AssertionError(f"stream: status {response.status}")
        total = 0
        async for chunk in response.body:
            total += len(chunk)
        return total

    async def spawn_all(coros: list[Any]) -> None:
        handles = [await pkg.spawn(co) for co in coros]
        for handle in handles:
            await handle.join()

    server_cls = io.HttpServer
    if not hasattr(pkg.SocketHandle, "close"):  # flowno 0.1.19 (SPEC §6.1 item 14)

        class ClosingServer(io.HttpServer):  # type: ignore[misc, valid-type]
            async def handle_client(self, client_sock: Any) -> None:
                try:
                    await super().handle_client(client_sock)
                except AttributeError:
                    client_sock.socket.close()

        server_cls = ClosingServer

    async def root() -> tuple[list[float], dict[str, Any]]:
        if job.case == "own_server":
            port = free_port()
            await pkg.spawn(server_cls(HOST, port).serve())
            await pkg.sleep(0)
            return await measure(job.case, job.size, job.reps, get, stream, spawn_all, port)
        ref = ReferenceServer()
        try:
            return await measure(job.case, job.size, job.reps, get, stream, spawn_all, ref.port)
        finally:
            ref.close()

    return pkg.EventLoop().run_until_complete(root(), join=True, wait_for_spawned_tasks=False)


# ------------------------------------------------------------------------------------------------
# asyncio + h11 baseline
# ------------------------------------------------------------------------------------------------
def _asyncio_h11_job(job: c.Job) -> tuple[list[float], dict[str, Any]]:
    import h11

    from _h11_server import start
    from urllib.parse import urlsplit

    async def exchange(url: str, on_data: Any) -> int:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            conn = h11.Connection(h11.CLIENT)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            headers = [("Host", parts.hostname or HOST), ("User-Agent", "bench/asyncio-h11"),
                       ("Accept-Encoding", "gzip, deflate"), ("Connection", "close")]
            writer.write(conn.send(h11.Request(method="GET", target=target, headers=headers)))
            writer.write(conn.send(h11.EndOfMessage()))
            status = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    on_data(event.data)
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    return status
        finally:
            writer.close()

    async def get(url: str) -> tuple[int, int]:
        body = bytearray()
        status = await exchange(url, body.extend)
        return status, len(body)

    async def stream(url: str) -> int:
        total = [0]

        def count(data: bytes) -> None:
            total[0] += len(data)

        status = await exchange(url, count)
        if status != 200:
            raise AssertionError(f"stream: status {status}")
        return total[0]

    async def spawn_all(coros: list[Any]) -> None:
        await asyncio.gather(*coros)

    async def root() -> tuple[list[float], dict[str, Any]]:
        if job.case == "own_server":
            server = await start(HOST, 0)
            port = server.sockets[0].getsockname()[1]
            try:
                return await measure(job.case, job.size, job.reps, get, stream, spawn_all, port)
            finally:
                server.close()
        ref = ReferenceServer()
        try:
            return await measure(job.case, job.size, job.reps, get, stream, spawn_all, ref.port)
        finally:
            ref.close()

    return asyncio.run(root())


def run_job(job: c.Job) -> c.Result:
    if job.impl == "asyncio_h11":
        rates, facts = _asyncio_h11_job(job)
    else:
        rates, facts = _own_package_job(job)
    unit = "MB/s" if job.case == "stream" else "req/s"
    return c.rate_result(BENCH, job, rates, unit, **facts)


def checks(table: c.Table, results: list[c.Result]) -> list[c.Check]:
    out = []
    for case in CASES:
        size = next((r.size for r in results if r.case == case), None)
        if size is not None:
            out.append(c.speedup_check(table, case, size, "asyncio_h11", 1.0, f"{case}: >= asyncio + h11"))
    return out


if __name__ == "__main__":
    c.main(__import__(__name__))
