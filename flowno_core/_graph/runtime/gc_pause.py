"""Keep the garbage collector from rescanning a large flow during its run.

Theory of operation: a flow with many nodes holds hundreds of thousands of long-lived objects
(drafts, ports, node records). Every node task a run creates is promoted to the oldest GC
generation, which triggers full collections that rescan all of them: on a 20,000-node chain that
was two thirds of the run time. ``gc.freeze()`` moves the objects alive when the run starts into
CPython's permanent generation, so collections during the run only scan what the run allocates;
``gc.unfreeze()`` at the end hands them back. A large run that creates many node tasks freezes
again every ``REFREEZE_EVERY`` of them, so those do not trigger full collections either. Only large flows do it, only when nobody else in the
process uses freeze, and nested or concurrent runs share one freeze (a counter under a lock).
"""

from __future__ import annotations

import gc
import threading

LARGE_FLOW_NODES = 2000

_lock = threading.Lock()
_holders = 0


def begin(node_count: int) -> bool:
    """Freeze the heap for a run of ``node_count`` nodes; returns whether this run holds a freeze."""
    global _holders
    if node_count < LARGE_FLOW_NODES:
        return False
    with _lock:
        if _holders == 0:
            if gc.get_freeze_count() or not gc.isenabled():
                return False  # the application manages the collector itself: leave it alone
            gc.freeze()
        _holders += 1
        return True


REFREEZE_EVERY = 8192


def refreeze() -> None:
    """Freeze again what the run has created so far (long-lived node tasks of a large first run)."""
    with _lock:
        if _holders:
            gc.freeze()


def end(held: bool) -> None:
    global _holders
    if not held:
        return
    with _lock:
        _holders -= 1
        if _holders == 0:
            gc.unfreeze()
