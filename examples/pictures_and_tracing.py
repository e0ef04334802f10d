"""Draw a flow as a picture and record a trace of its run.

Run it with ``python examples/pictures_and_tracing.py``. It finishes at once: the flow runs on a
``VirtualClock``, which also makes the trace the same on every run.

* ``f.to_mermaid()`` prints the flow as a Mermaid ``flowchart`` (GitHub renders it in a
  ```` ```mermaid ```` block); ``f.to_dot("name")`` gives Graphviz DOT. Dotted arrows feed
  ``stream_in`` inputs; the thick one says which default starts the cycle.
* ``TraceRecorder(path)`` records every run inside its ``with`` block into a Chrome trace-event file
  (open it in https://ui.perfetto.dev): one track per node, a slice per evaluation, a mark per
  chunk. ``trace.timeline()`` tells the same story as text.

The same from the command line, for a script with a module-level flow::

    python -m flowno_core graph --format mermaid examples/quickstart.py
    python -m flowno_core run --trace trace.json examples/quickstart.py

The flow: a source streams numbers, a total sums the stream, and a counter goes round a cycle (its
previous count comes back to it, starting from the default 0) until the run's limit::

    Numbers --chunks--> Total --> Report
    Counter(count = 0) --> Counter
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter as Tally

from flowno_core import FlowHDL, Stream, TerminateLimitReached, node, sleep
from flowno_core.testing import VirtualClock
from flowno_core.tooling.tracing import TraceRecorder


@node
async def Numbers(count: int):
    for index in range(count):
        await sleep(0.1)
        yield index


@node(stream_in=["values"])
async def Total(values: Stream[int]) -> int:
    total = 0
    async for value in values:
        total += value
    return total


@node
async def Report(total: int) -> str:
    return f"total {total}"


@node
async def Counter(count: int = 0) -> int:
    await sleep(0.25)
    return count + 1


def main() -> None:
    with FlowHDL(clock=VirtualClock()) as f:
        f.numbers = Numbers(4)
        f.total = Total(f.numbers)
        f.report = Report(f.total)
        f.counter = Counter(f.counter)

    print("```mermaid")
    print(f.to_mermaid().rstrip())
    print("```")

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "trace.json")
        with TraceRecorder(path) as trace:
            try:
                f.run_until_complete(stop_at_node_generation={f.counter: (2,)})
            except TerminateLimitReached:
                pass
        with open(path) as file:
            events = json.load(file)["traceEvents"]
        size = os.path.getsize(path)

    kinds = Tally(event["ph"] for event in events)
    tracks = [event["args"]["name"] for event in events if event["ph"] == "M" and event["name"] == "thread_name"]
    print(f"trace: {size} bytes, {len(events)} events; tracks {tracks}")
    print(f"  {kinds['X']} slices (evaluations and the run), {kinds['i']} publish marks, {kinds['s']} hand-off arrows")
    print(f"result: {f.report.get_data()[0]}; counter reached {f.counter.get_data()[0]}")
    print("timeline:")
    for line in trace.timeline():
        print(line)


if __name__ == "__main__":
    main()
