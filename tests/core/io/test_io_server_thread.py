"""ServerThread: an HttpServer on its own loop thread beside a flow (or any blocking code)."""

from __future__ import annotations

import socket as stdlib_socket
import urllib.request

import pytest

from flowno_core import FlowHDL, node
from flowno_core.io import HttpClient, HttpServer, ServerThread


def make_server() -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/echo/{word}")
    async def echo(request):
        return request.path_params["word"]

    return server


def test_serves_blocking_clients_and_flows_then_stops():
    server = make_server()
    with ServerThread(server) as url:
        assert url == server.url
        with urllib.request.urlopen(url + "/echo/plain", timeout=20) as answer:
            assert answer.read() == b"plain"

        @node
        async def Ask(word: str) -> bytes:
            return (await HttpClient().get(f"{url}/echo/{word}")).body

        with FlowHDL() as f:
            f.ask = Ask("flow")
        f.run_until_complete()
        assert f.ask.get_data() == (b"flow",)
        port = int(url.rsplit(":", 1)[1])
    probe = stdlib_socket.socket()
    try:
        with pytest.raises(ConnectionRefusedError):
            probe.connect(("127.0.0.1", port))  # the listener was closed on exit
    finally:
        probe.close()


def test_an_error_that_ends_the_server_loop_is_raised_in_the_caller():
    class Broken(HttpServer):
        async def stop(self, grace: float = 5.0) -> None:
            await super().stop(grace)
            raise RuntimeError("stop went wrong")

    server = Broken("127.0.0.1", 0)
    with pytest.raises(RuntimeError, match="stop went wrong"):
        with ServerThread(server):
            pass


def test_the_callers_own_error_wins_over_a_server_error():
    class Broken(HttpServer):
        async def stop(self, grace: float = 5.0) -> None:
            await super().stop(grace)
            raise RuntimeError("stop went wrong")

    with pytest.raises(KeyError):
        with ServerThread(Broken("127.0.0.1", 0)):
            raise KeyError("the caller's error")


def test_a_port_in_use_fails_on_entry_with_the_os_error():
    holder = stdlib_socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        port = holder.getsockname()[1]
        thread = ServerThread(HttpServer("127.0.0.1", port))
        with pytest.raises(OSError):
            thread.__enter__()
    finally:
        holder.close()
