"""Flows and clients for the dashboard tests.

The flows are *gated*: their source publishes its first chunk, then waits (on a worker thread, so
its loop stays free) until the test opens a ``threading.Event``, having seen that first chunk on
the page or in the event stream. So a counter that advances while the flow runs is shown by
construction, not by timing.
"""

from __future__ import annotations

import contextvars
import json
import threading
from collections.abc import Callable
from typing import Any

from flowno_core import EventLoop, FlowHDL, node, to_thread
from flowno_core.io import HttpClient, ServerSentEvent

LABELS = {"source (Numbers)", "total (Total)", "double (Double)"}
GATE_TIMEOUT = 20.0  # seconds a gated source waits at most (a failing test must not hang)


def gated_flow(gate: threading.Event, count: int = 3, fail: bool = False) -> Any:
    """``source`` streams ``count`` numbers (waiting for ``gate`` after the first), ``total`` sums
    them, ``double`` doubles the total (or raises ``ValueError`` when ``fail``)."""

    @node
    async def Numbers(count: int):  # noqa: N802 - node classes are named like classes
        for index in range(count):
            if index == 1:
                await to_thread(gate.wait, GATE_TIMEOUT)
            yield index

    @node(stream_in=["values"])
    async def Total(values):  # noqa: N802
        total = 0
        async for value in values:
            total += value
        return total

    @node
    async def Double(x: int) -> int:  # noqa: N802
        if fail:
            raise ValueError(f"refusing to double {x}")
        return 2 * x

    with FlowHDL() as f:
        f.source = Numbers(count)
        f.total = Total(f.source)
        f.double = Double(f.total)
    return f


def run_in_thread(function: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``function`` on a thread, in a copy of this thread's context (so the active
    instrument is active there too); the dict gets its ``result`` or ``error``."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def target() -> None:
        try:
            outcome["result"] = context.run(function)
        except BaseException as error:  # noqa: BLE001 - the test looks at it
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, outcome


class EventReader:
    """Reads a dashboard's ``/events`` with flowno_core's own client, on a thread of its own.

    ``on_state(state)`` is called for every ``state`` event; the reader ends at the ``end`` event.
    """

    def __init__(self, url: str, on_state: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.url = url
        self.events: list[ServerSentEvent] = []
        self.error: BaseException | None = None
        self._on_state = on_state
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> EventReader:
        self._thread.start()
        return self

    def join(self, timeout: float = 20.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the event stream did not end"
        if self.error is not None:
            raise self.error

    def parsed(self, kind: str) -> list[dict[str, Any]]:
        return [json.loads(event.data) for event in self.events if event.event == kind]

    def _run(self) -> None:
        async def main() -> None:
            response = await HttpClient().stream_get(self.url + "events", sse="events")
            assert response.status_code == 200, response.status
            assert response.headers.get("content-type") == "text/event-stream"
            async with response.body as events:
                async for event in events:
                    self.events.append(event)
                    if event.event == "state" and self._on_state is not None:
                        self._on_state(json.loads(event.data))
                    if event.event == "end":
                        break

        try:
            EventLoop().run_until_complete(main(), join=True)
        except BaseException as error:  # noqa: BLE001 - raised again by join()
            self.error = error


def nodes_by_label(flow_state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["label"]: entry for entry in flow_state["nodes"]}
