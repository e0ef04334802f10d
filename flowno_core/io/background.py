"""Serving an ``HttpServer`` on a thread of its own while other code runs.

A flow owns its event loop and runs it until its nodes are done, so a server the flow talks to
(a local fake endpoint in an example or a test) needs a loop of its own: ``ServerThread`` runs the
server on a fresh ``EventLoop`` in a background thread for the duration of a ``with`` block, stops
it gracefully at the end and re-raises in the caller whatever ended the server's loop abnormally.
"""

from __future__ import annotations

import threading
from types import TracebackType

from .._kernel.loop import EventLoop
from .._primitives import spawn
from .._sync import Event
from .server import HttpServer


class ServerThread:
    """Run ``server`` on its own event loop thread while a ``with`` block runs; gives its URL.

    Example::

        server = HttpServer("127.0.0.1", 0)

        @server.route("/hello")
        async def hello(request):
            return "hi"

        with ServerThread(server) as url:
            f.run_until_complete()        # nodes may call url + "/hello"
    """

    def __init__(self, server: HttpServer, *, grace: float = 1.0, timeout: float = 20.0) -> None:
        self.server = server
        self.grace = grace
        self.timeout = timeout
        self.loop = EventLoop()
        self._stop = Event()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flowno_core-server", daemon=True)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> str:
        self.server.bind()
        self._thread.start()
        if not self._started.wait(self.timeout):
            raise RuntimeError(f"the server on {self.server.url} did not start within {self.timeout}s")
        return self.server.url

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.loop.call_soon_threadsafe(self._stop.set_nowait)
        self._thread.join(self.timeout)
        if self._thread.is_alive():
            raise RuntimeError(f"the server on {self.server.url} did not stop within {self.timeout}s")
        if self._error is not None and exc is None:
            raise self._error

    def _run(self) -> None:
        async def main() -> None:
            serving = await spawn(self.server.serve())
            self._started.set()
            await self._stop.wait()
            await self.server.stop(grace=self.grace)
            await serving.join()

        try:
            self.loop.run_until_complete(main(), join=True)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = error
            self._started.set()
