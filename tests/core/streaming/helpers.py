"""Shared helpers for the streaming tests (virtual-time flows, logs, invariant checks)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flowno_core import FlowHDL, VirtualClock


def vflow(grace: float | None = None) -> FlowHDL:
    """A FlowHDL whose sleeps run in virtual time (optionally with a short deadlock grace)."""
    f = FlowHDL(clock=VirtualClock())
    if grace is not None:
        f._flow.deadlock_grace = grace
    return f


def now(f: FlowHDL) -> float:
    """The flow's virtual time."""
    return f._flow.event_loop.clock.now()


def check_one_ahead(log: list[tuple[Any, ...]], lap_end_exempt: bool = False) -> int:
    """Check the D2 invariant on a user-level log and return the number of resumptions checked.

    The log holds, in program order:
      ("resume", producer, j)   the producer's generator was resumed after yielding its chunk j
                                (logged right after ``yield`` returns)
      ("read", consumer, producer, j)  a consumer received the producer's chunk j of this lap
      ("done", consumer, producer)     the consumer stopped reading (end, cancel, or returned)
      ("lap", producer)                the producer starts a new lap (resets every count)

    A connection is active from its first read until "done". When ("resume", P, j) is logged,
    every active connection on P must have read chunk j already.

    With ``lap_end_exempt`` (single-lap logs only) the resumption after a producer's last chunk is
    not checked: it ends the lap without producing another chunk.
    """
    last: dict[str, int] = {}
    if lap_end_exempt:
        for event in log:
            if event[0] == "resume":
                last[event[1]] = max(last.get(event[1], -1), event[2])
    read: dict[tuple[str, str], int] = {}
    active: dict[str, set[str]] = defaultdict(set)
    checked = 0
    for event in log:
        kind = event[0]
        if kind == "lap":
            producer = event[1]
            for key in [key for key in read if key[1] == producer]:
                del read[key]
            active[producer].clear()
        elif kind == "read":
            _, consumer, producer, index = event
            previous = read.get((consumer, producer), -1)
            assert index == previous + 1, f"{consumer} read chunk {index} of {producer} after chunk {previous}"
            read[(consumer, producer)] = index
            active[producer].add(consumer)
        elif kind == "done":
            _, consumer, producer = event
            active[producer].discard(consumer)
        elif kind == "resume":
            _, producer, index = event
            if lap_end_exempt and index == last[producer]:
                continue
            for consumer in active[producer]:
                got = read[(consumer, producer)]
                assert got >= index, (
                    f"{producer} was resumed after its chunk {index} while the active consumer {consumer} "
                    f"had read only up to chunk {got}"
                )
            checked += 1
    return checked
