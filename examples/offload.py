"""Move CPU-heavy work off the flow's loop: worker threads and worker processes.

Run it with ``python examples/offload.py``. It takes well under a second (most of it starting the
worker processes).

A node's code runs on the flow's loop, so a long computation inside it holds up every other node.
This script hashes a blob and counts primes while a ``Heartbeat`` node keeps ticking on the loop:

    Blob --> Digest          @node(offload="thread"): a plain def on a worker thread
                             (hashlib releases the GIL on large inputs)
    CountPrimes(lo, hi) x 4  @node(offload="process"): a plain def in a worker process
         \\--> Total         sums the four counts
    Largest(limit)           an async node that awaits to_process(largest_prime_below, limit)
    Heartbeat                ticks every 5 ms on the loop while the rest computes

Functions sent to a worker process are pickled by reference: define them at module level (not a
lambda, not nested in another function) and keep the script's body under
``if __name__ == "__main__":``, as multiprocessing needs on platforms that spawn workers.
"""

from __future__ import annotations

import hashlib

from flowno_core import FlowHDL, node, sleep, to_process

LIMIT = 120_000
PARTS = 4


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    divisor = 3
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 2
    return True


def largest_prime_below(limit: int) -> int:
    """Plain CPU work, run in a worker process by ``to_process``."""
    return next(n for n in range(limit - 1, 1, -1) if is_prime(n))


@node(offload="process")
def CountPrimes(lo: int, hi: int) -> int:
    """Pure-Python CPU work: the body runs in a worker process (one per CPU)."""
    return sum(1 for n in range(lo, hi) if is_prime(n))


@node(offload="thread")
def Digest(blob: bytes) -> str:
    """The body runs on a worker thread; hashlib releases the GIL while it hashes."""
    return hashlib.sha256(blob).hexdigest()


@node
async def Blob(size: int) -> bytes:
    return bytes(range(256)) * (size // 256)


@node
async def Largest(limit: int) -> int:
    return await to_process(largest_prime_below, limit)  # one call in a worker process


@node
async def Total(*counts: int) -> int:
    return sum(counts)


@node
async def Heartbeat(ticks: int = 40) -> int:
    """Runs on the loop: it can tick only because the heavy work is elsewhere."""
    for _ in range(ticks):
        await sleep(0.005)
    return ticks


def main() -> None:
    step = LIMIT // PARTS
    with FlowHDL() as f:
        f.blob = Blob(16 * 1024 * 1024)
        f.digest = Digest(f.blob)
        f.total = Total(*(CountPrimes(part * step, (part + 1) * step) for part in range(PARTS)))
        f.largest = Largest(LIMIT)
        f.heartbeat = Heartbeat()
    report = f.run_until_complete()

    print(f"sha256 of 16 MiB: {f.digest.get_data()[0][:16]}... (on a worker thread)")
    print(f"primes below {LIMIT}: {f.total.get_data()[0]} (counted in {PARTS} parts in worker processes)")
    print(f"largest prime below {LIMIT}: {f.largest.get_data()[0]} (to_process)")
    print(f"the loop kept running: {f.heartbeat.get_data()[0]} heartbeats meanwhile")
    print(f"run {report.outcome} in {report.duration:.2f} s")


if __name__ == "__main__":
    main()
