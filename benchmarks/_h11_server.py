"""asyncio + h11 HTTP/1.1 server: the server half of the ``own_server`` baseline in bench_http.py.

Routes (every response carries ``Connection: close`` and the server closes the connection):

* ``GET /hello`` (and ``GET /``): 200, ``text/plain``, ``Content-Length``, body ``Hello, world!\\n``.
* ``GET /stream/N``: 200, ``application/octet-stream``, ``Transfer-Encoding: chunked``, N bytes in
  64 KiB chunks. (The size is in the path because flowno 0.1.19's client drops query strings.)
* anything else: 404.

``start(host, port)`` runs it inside the caller's asyncio loop (the in-process "own server" case). Run
as a script it listens on 127.0.0.1 on a free port, prints the port on one line and serves until
killed.
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

import h11

CHUNK = b"x" * 65536
HELLO = b"Hello, world!\n"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    conn = h11.Connection(h11.SERVER)
    try:
        request = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and request is None:
                    return
                continue
            if isinstance(event, h11.Request):
                request = event
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        if request is None:
            return
        path = urlsplit(request.target.decode()).path
        if request.method == b"GET" and path in ("/hello", "/"):
            headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO))),
                       ("Connection", "close")]
            writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
            writer.write(conn.send(h11.Data(data=HELLO)))
            writer.write(conn.send(h11.EndOfMessage()))
        elif request.method == b"GET" and path.startswith("/stream/") and path[8:].isdigit():
            remaining = int(path[8:])
            headers = [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked"),
                       ("Connection", "close")]
            writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
            while remaining > 0:
                piece = CHUNK if remaining >= len(CHUNK) else CHUNK[:remaining]
                remaining -= len(piece)
                writer.writelines(conn.send_with_data_passthrough(h11.Data(data=piece)))
                await writer.drain()
            writer.write(conn.send(h11.EndOfMessage()))
        else:
            headers = [("Content-Length", "0"), ("Connection", "close")]
            writer.write(conn.send(h11.Response(status_code=404, headers=headers)))
            writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
    except (ConnectionError, h11.RemoteProtocolError):
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def start(host: str = "127.0.0.1", port: int = 0) -> asyncio.AbstractServer:
    return await asyncio.start_server(handle, host, port, backlog=1024)


async def _main() -> None:
    server = await start()
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        sys.exit(0)
