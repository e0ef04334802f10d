"""The dashboard's server side: the latest picture of the flows, and the page and event stream
that show it.

Theory of operation
-------------------
Everything here runs on the dashboard's own thread and event loop (``DashboardThread``), never on
a flow's. The flows' threads hand messages over with ``loop.call_soon_threadsafe(hub.receive,
message)``, the loop's thread-safe queue of incoming calls, which also wakes it: a *graph*
message when a flow first runs (or its nodes changed) and compact *state* snapshots, at most one
per ``interval`` and flow (``instrument.Dashboard`` decides when). ``Hub`` keeps only the latest
picture: it lays the graph out (``layout``), expands snapshots to JSON with the node labels and
chunk rates (computed here, over a two-second window of snapshots), encodes each as one
server-sent event, and bumps a version. Each event stream sends what changed since it last sent,
then waits for the next change, so a slow browser skips snapshots instead of queueing them. A
ticker, every ``interval``, asks the flows with unsent changes for a snapshot and lets the rates of
quiet nodes fall to zero. Closing sends every stream an ``end`` event and lets it finish, so the
server stops at once.

Routes: ``/`` (the page), ``/dashboard.js``, ``/dashboard.css``, ``/events`` (the event stream:
``graph``, ``state`` and ``end`` events), ``/state`` (the latest graph and state as one JSON
document). Anything else is a 404; the server's limits answer oversized requests (431, 413).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any

from ..._kernel.loop import EventLoop
from ..._primitives import sleep, spawn
from ..._sync import Event
from ..._timeouts import move_on_after
from ...io.server import HttpServer
from ...io.server_messages import ServerRequest, ServerResponse, StreamingResponse
from ...io.sse import format_event
from .layout import layered_layout

#: seconds of snapshots a node's chunks per second is measured over
RATE_WINDOW = 2.0
#: seconds between two comment lines on an idle event stream (keeps proxies from closing it)
HEARTBEAT = 15.0
#: the latest errors the page lists
ERRORS_KEPT = 20
_CHAR = 7.3  # pixels per character of the page's 12px monospace font
_ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def box_width(label: str) -> float:
    """The width of a node's box: room for its label and its counters."""
    return max(len(label) + 2, 33) * _CHAR + 16


class _FlowView:
    """What the hub knows of one flow: its graph and its latest snapshot."""

    def __init__(self, flow_id: int, name: str) -> None:
        self.id = flow_id
        self.name = name
        self.ids: list[int] = []  # node ids, in the order of the snapshot rows
        self.labels: list[str] = []
        self.graph: dict[str, Any] = {}
        self.rows: list[tuple[Any, ...]] = []
        self.run = "ready"
        self.runs = 0
        self.history: deque[tuple[float, list[int]]] = deque()  # (time, chunks per row)
        self.rates: list[float] = []
        self.updated = 0.0

    def set_graph(self, name: str, nodes: list[tuple[int, str, str]], edges: list[tuple[int, int, bool, str]]) -> None:
        self.name = name
        self.ids = [node_id for node_id, _, _ in nodes]
        self.labels = [label for _, label, _ in nodes]
        widths = {node_id: box_width(label) for node_id, label, _ in nodes}
        layout = layered_layout(self.ids, [(s, t) for s, t, _, _ in edges], widths)
        self.graph = {
            "id": self.id,
            "name": name,
            "width": round(layout.width, 1),
            "height": round(layout.height, 1),
            "nodes": [
                {"id": node_id, "label": label, "kind": kind, "x": round(box.x, 1), "y": round(box.y, 1),
                 "width": round(box.width, 1), "height": round(box.height, 1)}
                for node_id, label, kind in nodes
                for box in (layout.boxes[node_id],)
            ],
            "edges": [
                {"source": s, "target": t, "streaming": streaming, "port": port, "back": (s, t) in layout.back_edges}
                for s, t, streaming, port in edges
            ],
        }
        # until the flow's first snapshot arrives, every node is shown idle with nothing counted
        self.rows = [("idle", None, 0, 0, 0) for _ in self.ids]
        self.rates, self.history = [], deque()

    def set_state(self, when: float, run: str, runs: int, rows: list[tuple[Any, ...]]) -> None:
        self.run, self.runs, self.rows, self.updated = run, runs, rows, when
        self.history.append((when, [row[4] for row in rows]))
        self.measure(when)

    def measure(self, now: float) -> bool:
        """Chunks per second of each node over the last ``RATE_WINDOW`` seconds; True if they changed."""
        history = self.history
        while len(history) >= 2 and history[1][0] <= now - RATE_WINDOW:
            history.popleft()
        if not history:
            return False
        (then, before), latest = history[0], [row[4] for row in self.rows]
        span = now - then
        rates = [round(max(0, c - b) / span, 2) if span > 0 and len(before) == len(latest) else 0.0
                 for c, b in zip(latest, before)]
        if len(rates) != len(latest):
            rates = [0.0] * len(latest)
        changed = rates != self.rates
        self.rates = rates
        return changed

    def state(self) -> dict[str, Any]:
        nodes = []
        for index, row in enumerate(self.rows):
            if index >= len(self.ids):
                break
            phase, generation, evaluations, failed, chunks = row
            nodes.append({
                "id": self.ids[index], "label": self.labels[index], "phase": phase, "generation": generation,
                "evaluations": evaluations, "failed": failed, "chunks": chunks,
                "chunks_per_second": self.rates[index] if index < len(self.rates) else 0.0,
            })
        return {"id": self.id, "name": self.name, "run": self.run, "runs": self.runs, "nodes": nodes}


class Hub:
    """The latest graph and state of the flows, and the event streams that send them (server
    thread only; see the module docstring)."""

    def __init__(self, on_clients: Callable[[int], None] | None = None) -> None:
        self.flows: dict[int, _FlowView] = {}
        self.errors: deque[dict[str, Any]] = deque(maxlen=ERRORS_KEPT)
        self.closed = False
        self.clients = 0
        self._on_clients = on_clients
        self._changed = Event()
        self.graph_version = self.state_version = 0
        self.graph_event = self.state_event = b""
        self._encode_graph()
        self._encode_state()

    # -- messages from the flows' threads (through call_soon_threadsafe) ---------------------------
    def receive(self, message: tuple[Any, ...]) -> None:
        kind, flow_id = message[0], message[1]
        view = self.flows.get(flow_id)
        if kind == "graph":
            _, _, name, nodes, edges = message
            if view is None:
                view = self.flows[flow_id] = _FlowView(flow_id, name)
            view.set_graph(name, nodes, edges)
            self._encode_graph()
        elif kind == "state" and view is not None:
            _, _, when, run, runs, rows, errors = message
            view.set_state(when, run, runs, rows)
            for node_index, generation, text, wall in errors:
                label = view.labels[node_index] if 0 <= node_index < len(view.labels) else "?"
                self.errors.append({"flow": flow_id, "node": label, "generation": generation,
                                    "error": text, "time": wall})
        else:
            return
        self._encode_state()

    def tick(self, now: float) -> None:
        """Let the rates of nodes that sent nothing lately fall (called every interval)."""
        changed = False
        for view in self.flows.values():
            if now - view.updated >= 0.5 and view.measure(now):
                changed = True
        if changed:
            self._encode_state()

    def close(self) -> None:
        """Send every stream its ``end`` event."""
        self.closed = True
        self._wake()

    # -- what the routes send ----------------------------------------------------------------------
    def graph(self) -> dict[str, Any]:
        return {"flows": [view.graph for view in self.flows.values() if view.graph]}

    def state(self) -> dict[str, Any]:
        return {"flows": [view.state() for view in self.flows.values()], "errors": list(self.errors),
                "closed": self.closed, "time": time.time()}

    def _encode_graph(self) -> None:
        self.graph_event = format_event(self.graph(), event="graph")
        self.graph_version += 1
        self._wake()

    def _encode_state(self) -> None:
        self.state_event = format_event(self.state(), event="state")
        self.state_version += 1
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, Event()
        changed.set_nowait()

    async def stream(self) -> AsyncIterator[bytes]:
        """One client's event stream: the graph and state now, then every change, until closed."""
        graph_sent = state_sent = -1
        self._count(+1)
        try:
            yield b"retry: 2000\n\n"
            while True:
                if graph_sent != self.graph_version:
                    graph_sent = self.graph_version
                    yield self.graph_event
                if state_sent != self.state_version:
                    state_sent = self.state_version
                    yield self.state_event
                if self.closed:
                    yield format_event({"reason": "the dashboard was closed"}, event="end")
                    return
                if graph_sent == self.graph_version and state_sent == self.state_version:
                    changed = self._changed
                    with move_on_after(HEARTBEAT) as scope:
                        await changed.wait()
                    if scope.expired:
                        yield b": still here\n\n"
        finally:
            self._count(-1)

    def _count(self, change: int) -> None:
        self.clients += change
        if self._on_clients is not None:
            self._on_clients(self.clients)


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath("assets", name).read_bytes()


def make_server(hub: Hub, host: str, port: int) -> HttpServer:
    """The dashboard's HttpServer: the page, its assets, ``/events`` and ``/state``."""
    server = HttpServer(host, port, max_connections=64, max_body_size=1024)
    assets = {path: (_asset(name), kind) for path, (name, kind) in _ASSETS.items()}

    async def page(request: ServerRequest) -> ServerResponse:
        body, kind = assets[request.path]
        return ServerResponse(200, body, _HEADERS, kind)

    async def events(request: ServerRequest) -> StreamingResponse:
        return StreamingResponse(hub.stream(), 200, {**_HEADERS, "X-Accel-Buffering": "no"}, "text/event-stream")

    async def state(request: ServerRequest) -> ServerResponse:
        body = json.dumps({"graph": hub.graph(), "state": hub.state()}).encode()
        return ServerResponse(200, body, _HEADERS, "application/json")

    for path in assets:
        server.add_route("GET", path, page)
    server.add_route("GET", "/events", events)
    server.add_route("GET", "/state", state)
    return server


class DashboardThread:
    """Runs the dashboard's server, hub and ticker on a fresh event loop in a daemon thread."""

    def __init__(self, host: str, port: int, interval: float, poll: Callable[[], None],
                 on_clients: Callable[[int], None] | None = None) -> None:
        self.hub = Hub(on_clients)
        self.server = make_server(self.hub, host, port)
        self.interval = interval
        self.loop = EventLoop()
        self._poll = poll
        self._stop = Event()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flowno_core-dashboard", daemon=True)

    def start(self, timeout: float = 20.0) -> str:
        try:
            self.server.bind()
        except OSError as error:
            server = self.server
            raise OSError(
                error.errno, f"the dashboard cannot listen on {server.host}:{server.port} ({error.strerror}); "
                "choose another port, or 0 for a free one"
            ) from error
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"the dashboard on {self.server.url} did not start within {timeout}s")
        if self._error is not None:
            raise self._error
        return self.server.url + "/"

    def send(self, message: tuple[Any, ...]) -> None:
        """Hand ``message`` to the hub (thread-safe; the flows' threads call it)."""
        self.loop.call_soon_threadsafe(self.hub.receive, message)

    def stop(self, timeout: float = 20.0) -> None:
        if not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self._stop.set_nowait)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the dashboard on {self.server.url} did not stop within {timeout}s")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        async def ticker() -> None:
            while True:
                await sleep(self.interval)
                self._poll()
                self.hub.tick(time.monotonic())

        async def main() -> None:
            serving = await spawn(self.server.serve())
            ticking = await spawn(ticker())
            self._started.set()
            await self._stop.wait()
            await ticking.cancel()
            self.hub.close()
            await self.server.stop(grace=2.0)
            await serving.join()

        try:
            self.loop.run_until_complete(main(), join=True)
        except BaseException as error:  # noqa: BLE001 - raised again in the thread that stops it
            self._error = error
            self._started.set()
