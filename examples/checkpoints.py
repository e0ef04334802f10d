"""Resume a stopped run from an SQLite checkpoint, and get what one straight run gets.

Run it with ``python examples/checkpoints.py``. It takes a fraction of a second; the checkpoint
file goes to a temporary directory that is removed at the end.

The flow pages through a (pretend) slow API: ``Fetch`` asks for one page per generation and hands
the next cursor back to itself (a cycle), and ``Tally`` adds each page's items to its own previous
total (a second cycle)::

    Fetch(cursor = 0) --cursor--> Fetch          (next page)
          \\--page--> Tally(total = 0) --total--> Tally

1. A first run, with ``checkpoint=path``, is cancelled midway (``f.cancel()``, as a crash or an
   operator would stop it), after a few pages.
2. A new flow object (as a new process would build it) runs with the same checkpoint: it takes the
   saved values and fetches only the pages that were left. The page the cancel cut (3) is fetched
   again: its value was never published, so it was never saved.
3. A straight run without a checkpoint gives the same total: the resumed run is the same run.
"""

from __future__ import annotations

import os
import tempfile

from flowno_core import FlowCancelled, FlowHDL, TerminateLimitReached, node

PAGES = 8  # the run ends when Tally has counted pages 0 to 7


def build(fetched: list[int], stop_after: int | None = None) -> FlowHDL:
    """The flow; ``fetched`` records the cursors asked for; ``stop_after`` cancels after that page."""

    @node(multiple_outputs=True)
    async def Fetch(cursor: int = 0) -> tuple[int, list[int]]:
        fetched.append(cursor)
        if cursor == stop_after:
            f.cancel(f"stopped after page {cursor}")  # the run ends at its next step
        return cursor + 1, [cursor * 10 + item for item in range(3)]  # next cursor, this page

    @node
    async def Tally(page: list[int], total: int = 0) -> int:
        return total + sum(page)

    with FlowHDL() as f:
        f.fetch = Fetch(f.fetch.output(0))
        f.tally = Tally(f.fetch.output(1), f.tally)
    return f


def run_to_end(f: FlowHDL, checkpoint: str | None = None) -> None:
    try:
        f.run_until_complete(stop_at_node_generation={f.tally: (PAGES - 1,)}, checkpoint=checkpoint)
    except TerminateLimitReached:
        pass  # the limit: the run ends there


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "paging.sqlite")

        fetched_first: list[int] = []
        first = build(fetched_first, stop_after=3)
        try:
            run_to_end(first, checkpoint=path)
        except FlowCancelled as error:
            outcome = first.last_report.outcome if first.last_report else None
            print(f"first run: {error.reason}; fetched pages {fetched_first}; outcome {outcome}")
        print(f"  saved total so far: {first.tally.get_data()[0]} at generation {first.tally.generation}")

        fetched_resumed: list[int] = []
        resumed = build(fetched_resumed)  # a new flow, the same checkpoint file
        run_to_end(resumed, checkpoint=path)
        print(f"resumed run: fetched pages {fetched_resumed}; total {resumed.tally.get_data()[0]}")

    fetched_straight: list[int] = []
    straight = build(fetched_straight)
    run_to_end(straight)
    print(f"straight run: fetched pages {fetched_straight}; total {straight.tally.get_data()[0]}")
    same = resumed.tally.get_data() == straight.tally.get_data()
    print(f"resumed == straight: {same}")


if __name__ == "__main__":
    main()
