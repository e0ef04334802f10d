"""The generation algebra (SPEC §2.2): pure functions on ``tuple[int, ...] | None``.

Theory of operation: a generation names one output of a node. Element 0 counts final values (run
level 0); element k counts partial results at run level k (only level 1, stream chunks, is used).
``None`` means "never produced". Ordering: ``None`` is smallest; otherwise compare element by
element, and when one tuple is a prefix of the other the *shorter* one is greater (a final value
outranks its own partial results), so ``()`` is greater than everything non-empty.

All functions are pure and cheap; ``cmp_generation`` has a fast path for the common case of two
tuples of the same length (plain tuple comparison is then exactly our order).
"""

from __future__ import annotations

from typing import TypeAlias

Generation: TypeAlias = tuple[int, ...] | None
RunLevel: TypeAlias = int


def cmp_generation(a: Generation, b: Generation) -> int:
    """-1, 0 or 1 as ``a`` is older than, the same as, or newer than ``b``.

    >>> cmp_generation((1,), (1, 5)), cmp_generation((0, 9), (0,)), cmp_generation(None, (0,))
    (1, -1, -1)
    """
    if a is None:
        return 0 if b is None else -1
    if b is None:
        return 1
    if len(a) == len(b):
        return 0 if a == b else (1 if a > b else -1)
    for x, y in zip(a, b):
        if x != y:
            return 1 if x > y else -1
    return 1 if len(a) < len(b) else -1


def inc_generation(g: Generation, run_level: RunLevel) -> tuple[int, ...]:
    """The smallest generation of length ``run_level + 1`` that is greater than ``g``.

    >>> inc_generation(None, 1), inc_generation((0, 0), 0), inc_generation((0,), 1), inc_generation((1,), 2)
    ((0, 0), (0,), (1, 0), (2, 0, 0))
    """
    size = run_level + 1
    if g is None:
        return (0,) * size
    if len(g) == size and size <= 2:  # the hot cases: next final value, next chunk of a lap
        return (g[0] + 1,) if size == 1 else (g[0], g[1] + 1)
    candidate = g[:size] if len(g) >= size else g + (0,) * (size - len(g))
    if cmp_generation(candidate, g) > 0:
        return candidate
    for position in range(size - 1, -1, -1):
        bumped = candidate[:position] + (candidate[position] + 1,) + (0,) * (size - position - 1)
        if cmp_generation(bumped, g) > 0:
            return bumped
    raise AssertionError(f"no increment of {g!r} at run level {run_level}")  # pragma: no cover


def clip_generation(g: Generation, run_level: RunLevel) -> Generation:
    """The greatest generation ``<= g`` whose length is ``<= run_level + 1``: the latest value that
    is complete at ``run_level``.

    >>> clip_generation((1, 0), 0), clip_generation((0, 0), 0), clip_generation((1, 2, 3), 1)
    ((0,), None, (1, 1))
    """
    if g is None:
        return None
    size = run_level + 1
    if len(g) <= size:
        return g
    candidate = g[:size]
    while cmp_generation(candidate, g) > 0:
        if not candidate:
            return None
        last = candidate[-1] - 1
        candidate = candidate[:-1] + (last,) if last >= 0 else candidate[:-1]
    return candidate


def main_generation(g: Generation) -> Generation:
    """``(k, ...) -> (k,)``."""
    if not g:
        return g
    return g[:1]


def parent_generation(g: Generation) -> Generation:
    """Drop the last element: ``(1,) -> ()``, ``() -> None``."""
    if g is None or not g:
        return None
    return g[:-1]


def stitched_generation(g: Generation, stitch: int) -> Generation:
    """Add ``stitch`` to element 0 (the offset of a bootstrapped feedback edge, the *stitch*).

    >>> stitched_generation((0, 3), 1), stitched_generation(None, 1), stitched_generation(None, 0)
    ((1, 3), (0,), None)
    """
    if g is None:
        return (stitch - 1,) if stitch != 0 else None
    if not g or stitch == 0:
        return g
    return (g[0] + stitch,) + g[1:]
