"""The staleness rule (SPEC §2.4): when a connected input has nothing newer than its node consumed.

Theory of operation: a consumer has consumed its producer's output up to its own generation; the
producer's output counts, on this edge, as ``stitched(clip(producer_gen, minimum_run_level),
stitch)``: clipped to what is complete at the port's run level (a level-0 port does not see a
stream's chunks) and shifted by the edge's feedback offset (SPEC §2.8). The input is *stale* when
that is not newer than the consumer's generation. A node whose connected inputs are all fresh may
run. This module is the only statement of the rule; the runtime calls it for every check.

One refinement keeps it true across a stop: a lap cut short by a stop never publishes its final
value, so while the producer streams the lap after it, the complete value a level-0 port can see
is the one before the cut lap (``cut_lap``: the main index of the lap that was cut, or None).
"""

from __future__ import annotations

from .generations import Generation, clip_generation, cmp_generation, stitched_generation


def is_stale(
    producer_gen: Generation, consumer_gen: Generation, minimum_run_level: int, stitch: int, cut_lap: int | None = None
) -> bool:
    """Whether the input has nothing newer for its consumer.

    >>> is_stale((0, 1), (0, 0), 1, 0), is_stale((0,), (0, 1), 1, 0), is_stale((0, 0), None, 0, 0)
    (False, False, True)
    """
    if producer_gen is not None and consumer_gen is not None and len(producer_gen) == 1 and len(consumer_gen) == 1:
        return producer_gen[0] + stitch <= consumer_gen[0]  # the common case: two final values
    if minimum_run_level == 0 and cut_lap is not None and producer_gen is not None and len(producer_gen) > 1:
        if producer_gen[0] - 1 == cut_lap:  # mid-lap just after a cut lap: its final value never existed
            complete = (cut_lap - 1,) if cut_lap >= 1 else None
            return cmp_generation(stitched_generation(complete, stitch), consumer_gen) <= 0
    effective = stitched_generation(clip_generation(producer_gen, minimum_run_level), stitch)
    return cmp_generation(effective, consumer_gen) <= 0
