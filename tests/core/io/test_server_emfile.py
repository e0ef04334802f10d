"""The accept loop survives running out of file descriptors (issue 12, item 1).

A child process lowers its RLIMIT_NOFILE, serves, and this test (with the normal limit) opens more
connections than the child has descriptors for, each with half a request head so none of them is an
idle connection the server could close to make room. The child's accept() then fails with EMFILE;
the server must log once, back off, and accept again once the connections are gone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from serverhelpers import blocking_exchange, parse_replies

resource = pytest.importorskip("resource")

CHILD = textwrap.dedent(
    """
    import logging, resource, sys
    from flowno_core import Event, EventLoop, spawn
    from flowno_core.io import HttpServer

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="LOG %(name)s %(message)s")
    server = HttpServer("127.0.0.1", 0, header_timeout=60, request_timeout=60, max_connections=10_000)
    stopped = Event()

    @server.route("/ping")
    async def ping(request):
        return "pong"

    @server.route("/stop")
    async def stop(request):
        stopped.set_nowait()
        return "bye"

    async def main():
        server.bind()
        resource.setrlimit(resource.RLIMIT_NOFILE, (__LIMIT__, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        serving = await spawn(server.serve())
        print(server.port, flush=True)
        await stopped.wait()
        await server.stop(grace=5)
        await serving.join()
        print("stopped", flush=True)

    EventLoop().run_until_complete(main(), join=True)
    """
)
LIMIT = 40


class Lines:
    """Collects a pipe's lines on a thread; ``wait_for`` blocks until a line contains a text."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line with {text!r} within {timeout}s; got {self.lines}")
                self._changed.wait(remaining)


def test_accept_backs_off_on_emfile_and_recovers_when_descriptors_are_free():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.replace("__LIMIT__", str(LIMIT))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    out, err = Lines(child.stdout), Lines(child.stderr)
    held: list[socket.socket] = []
    try:
        first = out.wait_for("")
        assert first.isdigit(), (out.lines, err.lines)
        port = int(first)
        for _ in range(LIMIT + 20):  # more than the child can hold: the rest waits in the backlog
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /ping HTTP/1.1\r\nHost: a\r\n")  # half a head: busy, not idle
            held.append(sock)
        err.wait_for("cannot accept connections")
        for sock in held:
            sock.close()
        held.clear()
        reply, _ = blocking_exchange(port, b"GET /ping HTTP/1.1\r\nHost: a\r\n\r\n")
        assert [(r.status, r.body) for r in parse_replies(reply)] == [(200, b"pong")]
        err.wait_for("accepts connections again")
        reply, _ = blocking_exchange(port, b"GET /stop HTTP/1.1\r\nHost: a\r\n\r\n")
        assert parse_replies(reply)[0].body == b"bye"
        assert child.wait(timeout=30) == 0
    finally:
        for sock in held:
            sock.close()
        if child.poll() is None:
            child.kill()
            child.wait()
    out.wait_for("stopped")
    problems = [line for line in err.lines if line.startswith("LOG")]
    assert len([line for line in problems if "cannot accept connections" in line]) == 1, err.lines
    assert "Too many open files" in problems[0]
    assert not any("Traceback" in line for line in err.lines), err.lines
