"""A sensor pipeline built from the node library: readings arrive from a thread, bad ones are
dropped, the rest are grouped into batches and each batch is summed up.

Run it with ``python examples/sensor_pipeline.py``. It takes about half a second.

The flow::

    from_inlet(readings) --> keep(plausible) --> batch(size=4, seconds=0.1) --> apply(summarise) --> collect
                                             \\--> count_items

A thread plays the sensor: it ``put``s readings into an ``Inlet`` (flowno_core's thread-safe queue)
in two bursts with a pause between them, then closes it. ``keep`` drops the failed reads (``None``)
and the glitches (a temperature no room has). ``batch`` passes a batch on when it holds 4 readings,
or 0.1 s after its first reading arrived: during the pause the last reading of the first burst does
not wait for the second burst. ``collect`` turns the stream of summaries into one list, and
``count_items`` counts the readings ``keep`` let through.
"""

from __future__ import annotations

import threading
import time

from flowno_core import FlowHDL, Inlet
from flowno_nodes import apply, batch, collect, count_items, from_inlet, keep

BURSTS: list[list[float | None]] = [
    [21.0, 21.2, None, 21.1, 21.4, 21.3],  # None: the sensor failed to read
    [21.5, 999.0, 21.6],  # 999.0: a glitch
]
PAUSE = 0.4  # seconds between the bursts: longer than the batch's 0.1 s


def sensor(readings: Inlet[float | None]) -> None:
    """The sensor's thread: put every reading, pause between bursts, close at the end."""
    for number, burst in enumerate(BURSTS):
        if number:
            time.sleep(PAUSE)
        for value in burst:
            readings.put(value)
    readings.close()  # no more readings: the stream ends and the run can finish


def plausible(reading: float | None) -> bool:
    return reading is not None and -40.0 <= reading <= 85.0


def summarise(batch: list[float | None]) -> str:
    readings = [reading for reading in batch if reading is not None]  # keep() dropped them: for the type checker
    mean = sum(readings) / len(readings)
    label = "reading" if len(readings) == 1 else "readings"
    return f"{len(readings)} {label}: mean {mean:.2f}, min {min(readings)}, max {max(readings)}"


def main() -> None:
    readings: Inlet[float | None] = Inlet()
    with FlowHDL() as f:
        f.raw = from_inlet(readings)
        f.valid = keep(f.raw, plausible)
        f.batches = batch(f.valid, size=4, seconds=0.1)
        f.summaries = apply(f.batches, summarise)
        f.result = collect(f.summaries)
        f.kept = count_items(f.valid)  # a second reader of the same stream

    thread = threading.Thread(target=sensor, args=(readings,), daemon=True)
    thread.start()
    report = f.run_until_complete()
    thread.join()

    for number, line in enumerate(f.result.get_data()[0], start=1):
        print(f"batch {number}: {line}")
    sent = sum(len(burst) for burst in BURSTS)
    print(f"kept {f.kept.get_data()[0]} of {sent} readings; run {report.outcome}")


if __name__ == "__main__":
    main()
