"""Stream operators and control nodes: the standard node library (see docs/node-library.md).

Names are lowercase verbs, like ``itertools`` and aiostream, and none shadows a builtin
(``keep`` filters, ``enumerate_items`` numbers, ``count_items`` counts). Each is a node class (or,
for the nodes with any number of inputs, a function returning a node) taking its inputs by position
or by name: ``batch(f.lines, size=100)``. A streaming operator's final value (what a plain input
reading it receives) is its last item, so it takes constant memory on an endless stream; use
``collect``, ``reduce`` or ``count_items`` to turn a whole stream into one value.
"""

from __future__ import annotations

from .aggregate import collect, count_items, distinct, reduce
from .combine import concat, merge, zip_latest
from .control import foreach, gate
from .sources import count, from_inlet, from_iterable, interval
from .timing import StreamTimeout, debounce, delay, throttle, timeout
from .transform import apply, batch, enumerate_items, flatten, keep, scan, skip, take, take_while, window

__all__ = [
    "StreamTimeout",
    "apply",
    "batch",
    "collect",
    "concat",
    "count",
    "count_items",
    "debounce",
    "delay",
    "distinct",
    "enumerate_items",
    "flatten",
    "foreach",
    "from_inlet",
    "from_iterable",
    "gate",
    "interval",
    "keep",
    "merge",
    "reduce",
    "scan",
    "skip",
    "take",
    "take_while",
    "throttle",
    "timeout",
    "window",
    "zip_latest",
]
