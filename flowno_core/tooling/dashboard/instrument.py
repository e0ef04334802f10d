"""The dashboard's flow side: an instrument that turns a flow's events into compact snapshots.

Theory of operation
-------------------
``Dashboard`` is a flow instrument that joins the active one (``joins_active``: a trace or a
progress line goes on beside it). The hooks run on the flow's thread and do as little as they
can: count a chunk on a per-flow ``_Board`` (lists indexed by node order) and, at most once per
``interval`` seconds, send a snapshot. A snapshot is one tuple per visible node (phase,
generation, evaluations ended, failed evaluations, chunks) plus the new errors; evaluations and
their errors are read from the run report's records through an ``EvaluationFeed``. It is handed
to the dashboard's own thread (``server.DashboardThread.send``), which does everything else
(labels, rates, JSON, HTTP). A change that arrives within ``interval`` of the last snapshot only
marks the board *dirty*; the dashboard thread's ticker then asks the flow's loop, through
``call_soon_threadsafe``, for the snapshot it missed, so the page never lags behind a flow that
went quiet. A flow's start and end are sent at once.

A flow is registered on its first run (its graph is sent then, and again when nodes were added);
the hidden ``Constant`` nodes that feed literal arguments are left out of the picture.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Self

from ..._graph.description.draft import Constant
from ..._graph.description.naming import node_label, parameter_names
from ..._graph.runtime.instruments import FlowInstrument
from .._feed import EvaluationFeed
from .server import DashboardThread

_FAILURES = frozenset(("failed", "timed_out"))


class _Board:
    """One flow as the dashboard counts it: touched on the flow's thread only, except ``dirty``,
    ``running``, ``flush_asked`` and ``next_push``, which the dashboard thread reads (a stale read
    only delays the next snapshot by an interval)."""

    def __init__(self, flow_id: int, flow: Any) -> None:
        self.id = flow_id
        self.flow = flow
        self.loop = flow.event_loop
        self.states: list[Any] = []
        self.visible: list[int] = []  # the orders of the nodes on the page
        self.position: dict[int, int] = {}  # node order -> row of the snapshot
        self.evaluations: list[int] = []
        self.failed: list[int] = []
        self.chunks: list[int] = []
        self.new_errors: list[tuple[int, Any, str, float]] = []
        self.feed = EvaluationFeed()
        self.running = False
        self.runs = 0
        self.dirty = False
        self.flush_asked = False
        self.next_push = 0.0

    def graph(self) -> tuple[Any, ...] | None:
        """The graph message, when the flow's nodes are not those last sent (None otherwise)."""
        states = self.flow._states
        if len(states) == len(self.states):
            return None
        grow = len(states) - len(self.states)
        self.states = list(states)
        for counts in (self.evaluations, self.failed, self.chunks):
            counts.extend([0] * grow)
        self.visible = [state.order for state in states if not isinstance(state.draft, Constant)]
        self.position = {order: row for row, order in enumerate(self.visible)}
        nodes = [(state.order, node_label(state.node), type(state.draft).__name__)
                 for state in states if state.order in self.position]
        edges = []
        for state in states:
            if state.order not in self.position:
                continue
            names = parameter_names(state.node)
            for conn in state.inputs:
                if conn.producer.order in self.position:
                    port = names[conn.port_index] if conn.port_index < len(names) else str(conn.port_index)
                    edges.append((conn.producer.order, state.order, conn.streaming, port))
        return ("graph", self.id, f"flow {self.id + 1}", nodes, edges)

    def snapshot(self, when: float, records: list[Any]) -> tuple[Any, ...]:
        for record in records:
            order = record.node._runtime.order
            self.evaluations[order] += 1
            if record.status in _FAILURES:
                self.failed[order] += 1
                row = self.position.get(order)
                if row is not None:
                    error = record.error
                    text = "" if error is None else f"{type(error).__name__}: {error}"[:2000]
                    generation = None if record.generation is None else list(record.generation)
                    self.new_errors.append((row, generation, text, self.feed.wall_time(record.ended)))
        rows = []
        for order in self.visible:
            state = self.states[order]
            gen = state.data.gen
            rows.append((state.phase.label, None if gen is None else list(gen), self.evaluations[order],
                         self.failed[order], self.chunks[order]))
        errors, self.new_errors = self.new_errors, []
        run = self.flow._run.phase.label
        return ("state", self.id, when, run, self.runs, rows, errors)


class Dashboard(FlowInstrument):
    """A live view of the flows that run inside its ``with`` block, served over HTTP.

    The page (``dash.url``) shows each flow's graph, every node's phase, generation, evaluations,
    chunks per second and errors, updated over server-sent events. The server runs on a thread and
    event loop of its own; leaving the block stops it (the page keeps the last state it got).

    Args:
        port: the port to serve on; 0 picks a free one (read ``dash.url``).
        host: the address to bind; the default serves this machine only.
        interval: the shortest time between two snapshots of a flow (seconds).
        announce: print ``flowno_core: dashboard at <url>`` to stderr when it starts.

    It joins the active flow instrument instead of replacing it (``joins_active``).

    Example::

        with Dashboard(port=8050) as dash:      # open http://127.0.0.1:8050/
            f.run_until_complete()
    """

    joins_active = True

    def __init__(self, port: int = 0, host: str = "127.0.0.1", *, interval: float = 0.1, announce: bool = True) -> None:
        super().__init__()
        if interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, not {interval!r}")
        self.interval = interval
        self.announce = announce
        self._server = DashboardThread(host, port, interval, self._poll, self._clients_changed)
        self._boards: dict[int, _Board] = {}
        self._lock = threading.Lock()
        self._clients = threading.Condition()
        self._client_count = 0
        self._url: str | None = None
        self._closed = threading.Event()

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> str:
        """Bind and start serving (``with`` does it); returns the page's URL."""
        if self._closed.is_set():
            raise RuntimeError("this dashboard was closed; make a new one")
        if self._url is None:
            self._url = self._server.start()
            if self.announce:
                print(f"flowno_core: dashboard at {self._url}", file=sys.stderr, flush=True)
        return self._url

    def close(self) -> None:
        """Stop serving: open pages get an ``end`` event and keep the last state they showed."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._server.stop()

    def __enter__(self) -> Self:
        self.start()
        return super().__enter__()

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self.close()

    @property
    def url(self) -> str:
        """The page's URL (``http://127.0.0.1:PORT/``)."""
        if self._url is None:
            raise RuntimeError("the dashboard is not started yet: use `with Dashboard() as dash:` or dash.start()")
        return self._url

    @property
    def port(self) -> int:
        return self._server.server.port

    @property
    def clients(self) -> int:
        """How many event streams (open pages) are connected."""
        return self._client_count

    def wait_for_clients(self, count: int = 1, timeout: float | None = None) -> bool:
        """Wait until ``count`` pages are connected (for example before a short run); False on timeout."""
        with self._clients:
            return self._clients.wait_for(lambda: self._client_count >= count, timeout)

    def serve_until_interrupted(self, message: str | None = None) -> None:
        """Keep serving (the last state stays on the page) until Ctrl-C or ``close()``; ``message``
        is printed to stderr first."""
        try:
            if message is not None:  # (inside the try: a Ctrl-C right after it still ends the wait)
                print(message, file=sys.stderr, flush=True)
            while not self._closed.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass

    def keep_serving(self, *exc_info: Any) -> bool:
        """``serve_until_interrupted``, saying so on stderr, unless Ctrl-C ended the block: an exit
        callback for ``ExitStack.push`` (``run --dashboard-keep``). Returns False (raises nothing)."""
        if not isinstance(exc_info[1] if len(exc_info) > 1 else None, KeyboardInterrupt) and not self._closed.is_set():
            self.serve_until_interrupted(f"flowno_core: the dashboard stays at {self.url} until Ctrl-C")
        return False

    def _clients_changed(self, count: int) -> None:  # (the dashboard thread)
        with self._clients:
            self._client_count = count
            self._clients.notify_all()

    # -- the flow's side ------------------------------------------------------------------------------
    def _board(self, flow: Any) -> _Board | None:
        return self._boards.get(id(flow))

    def _push(self, board: _Board, now: float, final: bool = False) -> None:
        records = board.feed.read(board.flow)
        if final:
            records += board.feed.finish(board.flow)
        board.dirty = False
        board.next_push = now + self.interval
        if not self._closed.is_set():
            self._server.send(board.snapshot(now, records))

    def _touch(self, board: _Board) -> None:
        now = time.monotonic()
        if now >= board.next_push:
            self._push(board, now)
        else:
            board.dirty = True

    def _poll(self) -> None:  # (the dashboard thread, every interval)
        now = time.monotonic()
        with self._lock:
            boards = list(self._boards.values())
        for board in boards:
            if board.dirty and board.running and not board.flush_asked and now >= board.next_push:
                board.flush_asked = True
                board.loop.call_soon_threadsafe(self._flush, board)

    def _flush(self, board: _Board) -> None:  # (the flow's loop, asked by _poll)
        board.flush_asked = False
        if board.dirty and board.running:
            self._push(board, time.monotonic())

    def on_flow_start(self, flow: Any) -> None:
        board = self._board(flow)
        if board is None:
            with self._lock:
                board = self._boards[id(flow)] = _Board(len(self._boards), flow)
        graph = board.graph()
        if graph is not None and not self._closed.is_set():
            self._server.send(graph)
        board.runs += 1
        board.running = True
        self._push(board, time.monotonic())

    def on_flow_end(self, flow: Any) -> None:
        board = self._board(flow)
        if board is not None:
            board.running = False
            self._push(board, time.monotonic(), final=True)

    def on_node_emitted_data(self, flow: Any, node: Any, data: tuple[Any, ...] | None, run_level: int) -> None:
        board = self._board(flow)
        if board is not None:
            if run_level:
                board.chunks[node._runtime.order] += 1
            self._touch(board)

    def on_node_status_change(self, flow: Any, node: Any, old_status: Any, new_status: Any) -> None:
        board = self._board(flow)
        if board is not None:
            self._touch(board)

    def on_node_error(self, flow: Any, node: Any, error: BaseException) -> None:
        board = self._board(flow)
        if board is not None:
            self._touch(board)  # (the error itself is read from the run report's records)
