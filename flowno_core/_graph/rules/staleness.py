"""The staleness rule (SPEC §2.4): when a connected input has nothing newer than its node consumed.

Theory of operation: a consumer has consumed its producer's output up to its own generation; the
producer's output counts, on this edge, as ``stitched(clip(producer_gen, minimum_run_level),
stitch)``: clipped to what is complete at the port's run level (a level-0 port does not see a
stream's chunks) and shifted by the edge's feedback offset (SPEC §2.8). The input is *stale* when
that is not newer than the consumer's generation. A node whose connected inputs are all fresh may
run. This module is the only statement of the rule; the runtime calls it for every check.
"""

from __future__ import annotations

from .generations import Generation, clip_generation, cmp_generation, stitched_generation


def is_stale(producer_gen: Generation, consumer_gen: Generation, minimum_run_level: int, stitch: int) -> bool:
    """Whether the input has nothing newer for its consumer.

    >>> is_stale((0, 1), (0, 0), 1, 0), is_stale((0,), (0, 1), 1, 0), is_stale((0, 0), None, 0, 0)
    (False, False, True)
    """
    if producer_gen is not None and len(producer_gen) == 1:  # the common cases: a final value...
        if consumer_gen is None:
            return producer_gen[0] + stitch < 0  # ...against nothing consumed yet
        if len(consumer_gen) == 1:
            return producer_gen[0] + stitch <= consumer_gen[0]  # ...against another final value
    effective = stitched_generation(clip_generation(producer_gen, minimum_run_level), stitch)
    if effective and effective[0] < 0:
        effective = None  # (an offset below zero: a stop cut the producer's lap, see evaluation.py)
    return cmp_generation(effective, consumer_gen) <= 0
