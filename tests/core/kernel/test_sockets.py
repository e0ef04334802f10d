"""Sockets on the loop's selector: connect/accept/recv/send/sendAll/close on loopback, waiting
rules (one reader and one writer per socket), errors in the awaiting task, and TLS (trustme
certificates) with a handshake that does not block the loop."""

from __future__ import annotations

import errno
import socket as stdsocket
import ssl

import pytest
import trustme

from flowno_core import EventLoop, EventLoopInstrument, SocketHandle, sleep, socket, spawn
from flowno_core._kernel.traps import wait_io_trap
from flowno_core._sockets import TLSSocketHandle

pytestmark = pytest.mark.timeout(30)


def listening_socket() -> tuple[SocketHandle, tuple[str, int]]:
    listener = socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener, listener.getsockname()


async def echo_server(listener: SocketHandle, connections: int) -> None:
    async def handle(conn: SocketHandle) -> None:
        with conn:
            while data := await conn.recv(65536):
                await conn.sendAll(data)

    handlers = []
    for _ in range(connections):
        conn, _ = await listener.accept()
        handlers.append(await spawn(handle(conn)))
    for handler in handlers:
        await handler.join()


async def test_echo_with_many_concurrent_clients(real_clock):
    listener, address = listening_socket()
    server = await spawn(echo_server(listener, 8))

    async def client(i: int) -> list[bytes]:
        sock = socket()
        await sock.connect(address)
        replies = []
        for round_ in range(5):
            message = f"client {i} round {round_}".encode()
            await sock.sendAll(message)
            reply = b""
            while len(reply) < len(message):
                reply += await sock.recv(100)
            replies.append(reply)
            await sleep(0)
        sock.close()
        return replies

    clients = [await spawn(client(i)) for i in range(8)]
    for i, handle in enumerate(clients):
        assert await handle.join() == [f"client {i} round {r}".encode() for r in range(5)]
    await server.join()
    listener.close()


async def test_sendall_of_a_large_payload_while_the_peer_reads(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    payload = bytes(range(256)) * 16384  # 4 MiB: far more than the socket buffers hold

    async def reader() -> bytes:
        data = bytearray()
        while len(data) < len(payload):
            data += await right.recv(1 << 16)
        return bytes(data)

    read = await spawn(reader())
    await left.sendAll(payload)
    assert await read.join() == payload
    left.close()
    right.close()


async def test_send_returns_the_bytes_sent(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    with SocketHandle(left_raw) as left, SocketHandle(right_raw) as right:
        assert await left.send(b"hello") == 5
        assert await right.recv(10) == b"hello"


async def test_recv_returns_empty_bytes_at_end_of_stream(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    reader = await spawn(left.recv(10))
    await sleep(0)
    right.close()
    assert await reader.join() == b""
    left.close()


async def test_recv_on_a_closed_handle_returns_empty_bytes(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left = SocketHandle(left_raw)
    left.close()
    assert left.closed
    assert await left.recv(10) == b""
    left.close()  # idempotent
    right_raw.close()


async def test_close_wakes_a_waiting_reader_with_eof_and_a_waiting_writer_with_an_error(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    while True:
        try:
            left.socket.send(b"x" * 65536)
        except BlockingIOError:
            break
    reader = await spawn(left.recv(10))
    writer = await spawn(left.send(b"more"))
    await sleep(0)
    left.close()
    assert await reader.join() == b""
    with pytest.raises(OSError) as info:
        await writer.join()
    assert info.value.errno == errno.EBADF
    right.close()


async def test_one_reader_and_one_writer_may_wait_on_one_socket(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    filled = 0
    while True:
        try:
            filled += left.socket.send(b"x" * 65536)
        except BlockingIOError:
            break
    reader = await spawn(left.recv(100))
    writer = await spawn(left.sendAll(b"END"))
    await sleep(0)
    await right.sendAll(b"to left")
    assert await reader.join() == b"to left"
    drained = bytearray()
    while len(drained) < filled + 3:
        drained += await right.recv(1 << 20)
    await writer.join()
    assert drained.endswith(b"xEND")
    left.close()
    right.close()


async def test_a_second_reader_on_one_socket_gets_a_clear_error(real_clock):
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)
    first = await spawn(left.recv(100))
    await sleep(0)
    with pytest.raises(RuntimeError, match="already waiting to read"):
        await left.recv(100)
    await right.sendAll(b"for the first")
    assert await first.join() == b"for the first"
    left.close()
    right.close()


async def test_connect_refused_raises_in_the_awaiting_task(real_clock):
    probe = stdsocket.socket()
    probe.bind(("127.0.0.1", 0))
    address = probe.getsockname()
    probe.close()  # nothing listens there now
    sock = socket()
    with pytest.raises(ConnectionRefusedError):
        await sock.connect(address)
    sock.close()


async def test_an_unawaited_connect_completes_on_first_use(real_clock):
    listener, address = listening_socket()
    server = await spawn(echo_server(listener, 1))
    sock = socket()
    sock.connect(address)  # flowno style: not awaited
    await sock.sendAll(b"lazy")
    assert await sock.recv(10) == b"lazy"
    sock.close()
    await server.join()
    listener.close()


async def test_connect_by_host_name(real_clock):
    listener, (_, port) = listening_socket()
    server = await spawn(echo_server(listener, 1))
    sock = socket(stdsocket.AF_INET, stdsocket.SOCK_STREAM)
    await sock.connect(("localhost", port))
    await sock.sendAll(b"by name")
    assert await sock.recv(10) == b"by name"
    sock.close()
    await server.join()
    listener.close()


async def test_accept_gives_a_non_blocking_handle_and_the_peer_address(real_clock):
    listener, address = listening_socket()
    client = socket()
    await client.connect(address)
    conn, peer = await listener.accept()
    assert isinstance(conn, SocketHandle)
    assert conn.socket.getblocking() is False
    assert peer == client.getsockname()
    for sock in (conn, client, listener):
        sock.close()


async def test_async_with_closes_the_socket(real_clock):
    async with socket() as sock:
        fd = sock.fileno()
        assert fd >= 0
    assert sock.closed
    assert sock.socket.fileno() == -1


def test_listen_without_backlog_and_repr():
    sock = socket()
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert f"fd={sock.fileno()}" in repr(sock)
    finally:
        sock.close()
    assert "closed" in repr(sock)


# ---------------------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_contexts():
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return server_ctx, client_ctx


async def server_handshake(conn: SocketHandle, ctx: ssl.SSLContext) -> None:
    """A non-blocking server-side handshake on the loop (the kernel only ships the client side)."""
    tls = ctx.wrap_socket(conn.socket, server_side=True, do_handshake_on_connect=False)
    conn.socket = tls
    while True:
        try:
            tls.do_handshake()
            return
        except ssl.SSLWantReadError:
            await wait_io_trap(tls, False)
        except ssl.SSLWantWriteError:
            await wait_io_trap(tls, True)


async def tls_echo_server(listener: SocketHandle, ctx: ssl.SSLContext, log: list) -> None:
    conn, _ = await listener.accept()
    try:
        await server_handshake(conn, ctx)
    except ssl.SSLError as error:
        log.append(("server handshake failed", type(error).__name__))
        conn.close()
        return
    log.append("server handshake done")
    with conn:
        while data := await conn.recv(65536):
            await conn.sendAll(data)


async def test_tls_round_trip_with_a_handshake_that_does_not_block_the_loop(real_clock, tls_contexts):
    server_ctx, client_ctx = tls_contexts
    listener, address = listening_socket()
    log: list = []
    # the server runs on the same loop: a blocking client handshake would deadlock this test
    server = await spawn(tls_echo_server(listener, server_ctx, log))

    class TLSSeen(EventLoopInstrument):
        def on_tls_handshake_complete(self, metadata):
            log.append(("tls", metadata.version, metadata.server_hostname))

    with TLSSeen():
        client = socket(use_tls=True, ssl_context=client_ctx, server_hostname="localhost")
        assert isinstance(client, TLSSocketHandle)
        await client.connect(address)
    payload = b"secret " * 20000
    reader_data = bytearray()

    async def read_all():
        while len(reader_data) < len(payload):
            reader_data.extend(await client.recv(65536))

    reader = await spawn(read_all())
    await client.sendAll(payload)
    await reader.join()
    assert bytes(reader_data) == payload
    client.close()
    await server.join()
    listener.close()
    assert "server handshake done" in log
    [tls] = [entry for entry in log if entry[0] == "tls"]
    assert tls[1].startswith("TLS") and tls[2] == "localhost"


async def test_tls_certificate_mismatch_raises_in_the_connecting_task(real_clock, tls_contexts):
    server_ctx, client_ctx = tls_contexts
    listener, address = listening_socket()
    log: list = []
    server = await spawn(tls_echo_server(listener, server_ctx, log))
    client = socket(use_tls=True, ssl_context=client_ctx, server_hostname="not-the-cert-name.example")
    with pytest.raises(ssl.SSLCertVerificationError):
        await client.connect(address)
    client.close()
    await server.join()
    listener.close()
    assert log and log[0][0] == "server handshake failed"


def test_sockets_work_on_loops_run_one_after_another():
    def once() -> bytes:
        async def main():
            listener, address = listening_socket()
            server = await spawn(echo_server(listener, 1))
            sock = socket()
            await sock.connect(address)
            await sock.sendAll(b"again")
            reply = await sock.recv(10)
            sock.close()
            await server.join()
            listener.close()
            return reply

        return EventLoop().run_until_complete(main(), join=True)

    assert [once() for _ in range(5)] == [b"again"] * 5
