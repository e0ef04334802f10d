"""HttpClient: flowno's HTTP client API on h11, with timeouts, redirects and optional keep-alive.

Theory of operation: a request is (1) assemble headers: built-in defaults < the client's headers <
per-call headers (SPEC §6.1 item 19); (2) take a pooled connection for the origin (keep-alive only)
or open one (``ClientConnection.open``: DNS on a worker thread, non-blocking connect and TLS);
(3) send the request and read events until the response head; (4) follow a redirect by releasing
that connection and looping, at most ``max_redirects`` times; (5) read the whole body (``request``)
or hand the connection to a ``BodyStream`` (``stream_request``). One ``RequestContext`` per call
holds the method, the redacted URL and the deadlines, so concurrent calls share nothing but the
pool. Every path that does not hand the connection on closes it; ``except BaseException`` blocks
make that true for cancellation and timeouts as well.

With ``keep_alive=False`` (the default, like flowno) every request sends ``Connection: close`` and
uses a fresh connection. With ``keep_alive=True`` a connection whose exchange finished cleanly goes
back to a per-origin pool (a stream too, once read to its end; an SSE stream ended by ``[DONE]`` reads
the rest of its body first, at most ``_DRAIN_LIMIT`` bytes); a pooled connection that fails before
any response byte (the server dropped it while idle) is retried once on a fresh connection.

Proxies (``proxy.py``): the client's ``ProxyChoice`` is fixed when the client is made (from
``proxy=`` or, with ``trust_env``, the environment); each request asks it for a route. An http URL
through a proxy is sent in absolute form on a connection to the proxy; an https URL goes through a
CONNECT tunnel that ``ClientConnection.open`` sets up. Pool keys include the proxy.

Limits: the response head (``max_header_size``, enforced by h11), the body of a whole-body read
(``max_body_size``, checked against Content-Length at once and counted after decompression, so a
gzip bomb stops too) and, for whole-body reads, ``max_request_time`` on top of ``Timeout.total``.
Streams have neither of the last two: their consumer reads as it goes and can stop at any time.
"""

from __future__ import annotations

import json as _json
import re
import ssl
from typing import Any, Literal, TypeVar
from urllib.parse import urljoin

import h11

from ._decoding import BodyDecoder, DecodeError
from ._url import Target, parse_url, redact
from .body import BodyStream, StreamMode
from .connection import ClientConnection, RequestContext, Timeout
from .errors import HttpConnectionError, ResponseTooLarge, TooManyRedirects
from .headers import Headers
from .proxy import ProxyChoice, ProxyRoute
from .responses import ErrStreamingResponse, OkStreamingResponse, Response

_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CROSS_ORIGIN_DROP = ("authorization", "proxy-authorization", "cookie")
_DEFAULT_USER_AGENT = "Flowno/0.1"
_DRAIN_LIMIT = 65536  # bytes read after a redirect's head or an SSE [DONE] to keep a connection

Body = bytes | bytearray | memoryview | str | None
N = TypeVar("N", int, float)


class HttpClient:
    """An HTTP/1.1 client for flowno_core tasks (flowno's ``HttpClient`` API, built on h11).

    Args:
        headers: headers sent with every request (per-call ``extra_headers`` override them).
        timeout: a ``Timeout``, a number of seconds (connect and read), or ``None`` for no limits.
            Default: 30 s to connect, 300 s for each read, no total limit.
        follow_redirects: follow 301/302/303/307/308 responses (per-call override available).
        max_redirects: how many redirects one request may follow before ``TooManyRedirects``.
        keep_alive: reuse connections per origin instead of ``Connection: close`` (then close the
            client with ``aclose()`` or ``async with``).
        ssl_context: the context for https URLs (default: ``ssl.create_default_context()``).
        max_idle_connections: pooled idle connections kept per origin (keep-alive only).
        max_header_size: the largest response head accepted, in bytes (default 64 KiB); larger
            raises ``ResponseTooLarge``.
        max_body_size: the largest body that ``get``/``post``/``request`` read whole, in bytes
            after decompression (default 64 MiB; ``None``: no limit); larger raises
            ``ResponseTooLarge``. Streams are not limited: read them as they come.
        max_request_time: seconds a whole-body request may take in all, redirects and body
            included (default 900; ``None``: no limit); a tighter ``Timeout.total`` wins. Streams
            are bounded by ``Timeout.total`` only, so a long-lived event stream is never cut.
        trust_env: take proxies from ``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY``
            (and their lower-case forms) when ``proxy`` is not given (default True).
        proxy: an ``http://[user:password@]host:port`` proxy for every request (https through a
            CONNECT tunnel); overrides the environment.

    Attributes:
        json_encoder / json_decoder: swappable ``json.JSONEncoder`` / ``json.JSONDecoder``.

    Example::

        from flowno_core import EventLoop
        from flowno_core.io import HttpClient

        async def main():
            client = HttpClient()
            response = await client.get("http://127.0.0.1:8080/items?page=2")
            print(response.status_code, response.decode_json())

        EventLoop().run_until_complete(main(), join=True)
    """

    def __init__(
        self,
        headers: Headers | None = None,
        *,
        timeout: Timeout | float | None = Timeout(),
        follow_redirects: bool = True,
        max_redirects: int = 10,
        keep_alive: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        max_idle_connections: int = 8,
        max_header_size: int = 64 * 1024,
        max_body_size: int | None = 64 * 1024 * 1024,
        max_request_time: float | None = 900.0,
        trust_env: bool = True,
        proxy: str | None = None,
    ) -> None:
        if headers is not None and not isinstance(headers, Headers):
            headers = Headers(headers)  # a plain mapping or list of pairs is accepted too
        self.override_headers: Headers = headers if headers is not None else Headers()
        self.json_encoder: _json.JSONEncoder = _json.JSONEncoder()
        self.json_decoder: _json.JSONDecoder = _json.JSONDecoder()
        self.timeout = Timeout.coerce(timeout)
        self.follow_redirects = follow_redirects
        if max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")
        self.max_redirects = max_redirects
        self.keep_alive = keep_alive
        self.max_idle_connections = max_idle_connections
        self.max_header_size = _positive("max_header_size", max_header_size)
        self.max_body_size = max_body_size if max_body_size is None else _positive("max_body_size", max_body_size)
        self.max_request_time = max_request_time if max_request_time is None else _positive(
            "max_request_time", max_request_time)
        self.trust_env = trust_env
        self._ssl_context = ssl_context
        self._pool: dict[tuple[object, ...], list[ClientConnection]] = {}
        if proxy is not None:
            self._proxies: ProxyChoice | None = ProxyChoice.explicit(proxy)
        elif trust_env:
            choice = ProxyChoice.from_environment()
            self._proxies = None if choice.empty else choice
        else:
            self._proxies = None

    @property
    def headers(self) -> Headers:
        """The client's headers (flowno called them ``override_headers``)."""
        return self.override_headers

    # -- flowno's convenience methods ---------------------------------------------------------------
    async def get(self, url: str, *, extra_headers: Headers | None = None,
                  timeout: Timeout | float | None = None) -> Response:
        """GET ``url`` and read the whole body.

        Example::

            response = await HttpClient().get("http://127.0.0.1:8080/search?q=flow")
        """
        return await self.request("GET", url, extra_headers=extra_headers, timeout=timeout)

    async def post(self, url: str, json: Any = None, data: Body = None, *, extra_headers: Headers | None = None,
                   timeout: Timeout | float | None = None) -> Response:
        """POST ``json`` (encoded with ``json_encoder``) or raw ``data`` and read the whole body.

        Example::

            response = await HttpClient().post("http://127.0.0.1:8080/items", json={"name": "x"})
        """
        return await self.request("POST", url, data, extra_headers, json=json, timeout=timeout)

    async def stream_get(self, url: str, *, extra_headers: Headers | None = None,
                         timeout: Timeout | float | None = None,
                         sse: Literal["json", "events", "raw"] = "json",
                         ) -> OkStreamingResponse[Any] | ErrStreamingResponse:
        """GET ``url`` and return as soon as the head arrives; iterate ``.body`` for the rest.

        Example::

            response = await HttpClient().stream_get("http://127.0.0.1:8080/events")
            if streaming_response_is_ok(response):
                async for value in response.body:   # JSON values of an SSE stream
                    print(value)
        """
        return await self.stream_request("GET", url, extra_headers=extra_headers, timeout=timeout, sse=sse)

    async def stream_post(self, url: str, json: Any = None, data: Body = None, *,
                          extra_headers: Headers | None = None, timeout: Timeout | float | None = None,
                          sse: Literal["json", "events", "raw"] = "json",
                          ) -> OkStreamingResponse[Any] | ErrStreamingResponse:
        """POST and stream the response (see ``stream_request``).

        Example::

            response = await client.stream_post(url, json={"model": "m", "stream": True, "messages": msgs})
        """
        return await self.stream_request("POST", url, data, extra_headers, json=json, timeout=timeout, sse=sse)

    # -- the two primitives ---------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        data: Body = None,
        extra_headers: Headers | None = None,
        *,
        json: Any = None,
        timeout: Timeout | float | None = None,
        follow_redirects: bool | None = None,
    ) -> Response:
        """Send a request and read the whole (decompressed) body.

        Args:
            method: any HTTP method (``"GET"``, ``"POST"``, ``"PUT"``, ...).
            url: an ``http://`` or ``https://`` URL; the query string is sent as given.
            data: the request body (``str`` is sent as UTF-8).
            extra_headers: headers for this call; they override the client's headers.
            json: a value to send as JSON (with ``Content-Type: application/json``) instead of data.
            timeout: this call's timeouts (default: the client's).
            follow_redirects: this call's redirect policy (default: the client's).

        Returns:
            A ``Response``; any status is returned (use ``raise_for_status()`` to turn errors into
            ``HTTPException``).

        Raises:
            InvalidURL: the URL cannot be requested (unknown scheme, no host, bad port).
            HttpConnectionError: the connection could not be made or was lost.
            HttpProtocolError: the server broke HTTP (status line, headers, framing, body).
            HttpTimeoutError: a timeout of ``timeout`` ran out.
            TooManyRedirects: more redirects than the client's ``max_redirects``.

        Example::

            response = await client.request("PUT", "http://127.0.0.1:8080/items/3", data=b"...")
        """
        ctx, conn, head = await self._exchange(method, url, data, extra_headers, json, timeout, follow_redirects,
                                               self.max_request_time)
        try:
            body = await self._read_body(conn, ctx, head.headers, self.max_body_size)
        except BaseException:
            conn.close()
            raise
        self._release(conn, conn.reusable)
        return Response(self, head.status, head.headers, body, method=ctx.method, url=ctx.url)

    async def stream_request(
        self,
        method: str,
        url: str,
        data: Body = None,
        extra_headers: Headers | None = None,
        *,
        json: Any = None,
        timeout: Timeout | float | None = None,
        follow_redirects: bool | None = None,
        sse: Literal["json", "events", "raw"] = "json",
    ) -> OkStreamingResponse[Any] | ErrStreamingResponse:
        """Send a request and return once the response head is in; the body streams.

        For a 2xx status the result is an ``OkStreamingResponse`` whose ``body`` is a ``BodyStream``:
        with ``Content-Type: text/event-stream`` it yields the JSON value of each SSE data event
        (``sse="json"``, flowno's behaviour; ``[DONE]`` ends it), ``ServerSentEvent`` objects
        (``sse="events"``) or raw chunks (``sse="raw"``); otherwise it yields the decompressed byte
        chunks. Any other status gives an ``ErrStreamingResponse`` whose body is ``bytes``, or a
        stream of byte chunks when the server sent it chunked.

        The connection is closed when the body ends, on error or cancellation, and when the body
        is closed early (``await response.body.aclose()``, ``async with response.body``).

        Example::

            response = await client.stream_request("POST", url, json=payload, timeout=Timeout(read=60))
            if streaming_response_is_ok(response):
                async with response.body as events:
                    async for event in events:
                        ...
        """
        if sse not in ("json", "events", "raw"):
            raise ValueError(f'sse must be "json", "events" or "raw", not {sse!r}')
        ctx, conn, head = await self._exchange(method, url, data, extra_headers, json, timeout, follow_redirects)
        try:
            headers = head.headers
            if 200 <= head.status_code < 300:
                media = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
                mode: StreamMode = "bytes"
                if media == "text/event-stream" and sse != "raw":
                    mode = "json" if sse == "json" else "events"
                stream: BodyStream[Any] = BodyStream(
                    conn, ctx, mode, headers.get("content-encoding"), self._release, self.json_decoder,
                    drain_after_done=_DRAIN_LIMIT if self.keep_alive else 0,
                )
                return OkStreamingResponse(self, head.status, headers, stream, method=ctx.method, url=ctx.url)
            if "chunked" in (headers.get("transfer-encoding") or "").lower():
                raw: BodyStream[bytes] = BodyStream(conn, ctx, "bytes", headers.get("content-encoding"), self._release)
                return ErrStreamingResponse(self, head.status, headers, raw, method=ctx.method, url=ctx.url)
            body = await self._read_body(conn, ctx, headers, self.max_body_size)
        except BaseException:
            conn.close()
            raise
        self._release(conn, conn.reusable)
        return ErrStreamingResponse(self, head.status, headers, body, method=ctx.method, url=ctx.url)

    # -- closing -----------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the pooled keep-alive connections (open streams keep theirs until they end)."""
        self.close()

    def close(self) -> None:
        """Synchronous ``aclose``."""
        pool, self._pool = self._pool, {}
        for connections in pool.values():
            for conn in connections:
                conn.close()

    async def __aenter__(self) -> "HttpClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def idle_connections(self) -> int:
        """How many keep-alive connections wait in the pool."""
        return sum(len(conns) for conns in self._pool.values())

    # -- internals ---------------------------------------------------------------------------------
    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _request_headers(self, target: Target, body: bytes | None, json_type: bool,
                         extra: Headers | None, strip_credentials: bool) -> list[tuple[str, str]]:
        # plain dicts of already validated values: this runs once per request
        fields: dict[str, list[str]] = {
            "host": [target.host_header],
            "user-agent": [_DEFAULT_USER_AGENT],
            "accept-encoding": ["gzip, deflate"],
        }
        if not self.keep_alive:
            fields["connection"] = ["close"]
        fields.update(self.override_headers._fields)
        if json_type:
            fields["content-type"] = ["application/json"]
        if extra is not None:
            fields.update(extra._fields)
        fields.pop("content-length", None)
        fields.pop("transfer-encoding", None)
        if body is not None:
            fields["content-length"] = [str(len(body))]
        if strip_credentials:
            for name in _CROSS_ORIGIN_DROP:
                fields.pop(name, None)
        return [(name, value) for name, values in fields.items() for value in values]

    def _encode_body(self, data: Body, json: Any) -> tuple[bytes | None, bool]:
        if json is not None:
            return self.json_encoder.encode(json).encode("utf-8"), True
        if data is None:
            return None, False
        if isinstance(data, str):
            return data.encode("utf-8"), False
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data), False
        raise TypeError(f"data must be bytes or str, not {type(data).__name__} (use json= for objects)")

    async def _exchange(
        self,
        method: str,
        url: str,
        data: Body,
        extra_headers: Headers | None,
        json: Any,
        timeout: Timeout | float | None,
        follow_redirects: bool | None,
        deadline: float | None = None,
    ) -> tuple[RequestContext, ClientConnection, "_Head"]:
        """Send the request (following redirects); returns the connection positioned at the body."""
        if not isinstance(method, str) or not _METHOD.fullmatch(method):
            raise ValueError(f"invalid HTTP method {method!r}")
        method = method.upper()
        target = parse_url(url, method)
        if extra_headers is not None and not isinstance(extra_headers, Headers):
            extra_headers = Headers(extra_headers)
        body, json_type = self._encode_body(data, json)
        limits = self.timeout if timeout is None else Timeout.coerce(timeout)
        ctx = RequestContext(method, redact(target.url), limits, deadline)
        follow = self.follow_redirects if follow_redirects is None else follow_redirects
        first_origin = target.origin
        strip = False
        history = [ctx.url]
        while True:
            headers = self._request_headers(target, body, json_type, extra_headers, strip)
            conn, head = await self._send_once(target, ctx, headers, body)
            location = head.headers.get("location")
            if not (follow and head.status_code in _REDIRECTS and location):
                return ctx, conn, head
            next_url = urljoin(target.url, location.strip())
            try:
                next_target = parse_url(next_url, ctx.method)
            except ValueError:
                return ctx, conn, head  # a Location we cannot follow: hand the 3xx to the caller
            if len(history) > self.max_redirects:
                conn.close()
                raise TooManyRedirects(ctx.method, history[0], history + [redact(next_target.url)], self.max_redirects)
            await self._discard_body(conn, ctx)
            if head.status_code == 303 and ctx.method != "HEAD" or (
                head.status_code in (301, 302) and ctx.method == "POST"
            ):
                ctx.method, body, json_type = "GET", None, False
            target = next_target
            strip = strip or target.origin != first_origin
            ctx.url = redact(target.url)
            history.append(ctx.url)

    async def _send_once(self, target: Target, ctx: RequestContext, headers: list[tuple[str, str]],
                         body: bytes | None) -> tuple[ClientConnection, "_Head"]:
        route = None if self._proxies is None else self._proxies.route_for(target, ctx.method, ctx.url)
        if route is None:
            request = h11.Request(method=ctx.method, target=target.target, headers=headers)
            key: tuple[object, ...] = target.origin
        else:
            request = _proxied_request(ctx.method, target, headers, route)
            key = route.pool_key(target)
        attempts = 2 if self.keep_alive else 1
        for attempt in range(attempts):
            conn = self._take_idle(key) if attempt == 0 else None
            if conn is None:
                conn = await ClientConnection.open(target, ctx, self._ssl() if target.is_tls else None,
                                                   self.max_header_size, route)
            try:
                await conn.send_request(request, body, ctx)
                if ctx.http_logger is not None:
                    ctx.http_logger.log_request(ctx.conn_id(conn), ctx.method, ctx.url, len(body) if body else 0)
                while True:
                    event = await conn.next_event(ctx)
                    if type(event) is h11.Response:
                        head = _Head(event)
                        if ctx.http_logger is not None:
                            length = head.headers.get("content-length")
                            ctx.http_logger.log_response_headers(
                                ctx.conn_id(conn), head.status_code, head.headers.get("content-type"),
                                head.headers.get("transfer-encoding"),
                                int(length) if length and length.isdigit() else None,
                            )
                        return conn, head
                    if type(event) is not h11.InformationalResponse or event.status_code == 101:
                        raise ctx.protocol_error(f"unexpected {type(event).__name__} instead of a response "
                                                 "(protocol switches are not supported)")
                    # 100 Continue, 103 Early Hints, ...: keep reading
            except HttpConnectionError:
                conn.close()
                if conn.reused and not conn.received and attempt + 1 < attempts:
                    continue  # the server dropped an idle keep-alive connection: retry once
                raise
            except BaseException:
                conn.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _take_idle(self, key: tuple[object, ...]) -> ClientConnection | None:
        connections = self._pool.get(key)
        while connections:
            conn = connections.pop()
            if conn.looks_alive():
                return conn
            conn.close()
        return None

    def _release(self, conn: ClientConnection, reusable: bool) -> None:
        if not (reusable and self.keep_alive and conn.reusable):
            conn.close()
            return
        conn.start_next_cycle()
        connections = self._pool.setdefault(conn.origin, [])
        if len(connections) >= self.max_idle_connections:
            conn.close()
            return
        connections.append(conn)

    async def _read_body(self, conn: ClientConnection, ctx: RequestContext, headers: Headers,
                         limit: int | None) -> bytes:
        decoder = BodyDecoder(headers.get("content-encoding"))
        if limit is not None:
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise _body_too_large(ctx, limit, f"it announces {int(length)} bytes")
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                event = await conn.next_event(ctx)
                kind = type(event)
                if kind is h11.Data:
                    part = decoder.feed(bytes(event.data)) if decoder.active else bytes(event.data)
                elif kind is h11.EndOfMessage or kind is h11.ConnectionClosed:
                    part = decoder.finish()
                else:
                    raise ctx.protocol_error(f"unexpected {kind.__name__} in the response body")
                if part:
                    size += len(part)
                    if limit is not None and size > limit:
                        raise _body_too_large(ctx, limit, "more arrived")
                    parts.append(part)
                if kind is not h11.Data:
                    return b"".join(parts)
        except DecodeError as error:
            raise ctx.protocol_error(str(error)) from None

    async def _discard_body(self, conn: ClientConnection, ctx: RequestContext) -> None:
        """Drop a redirect's body: drain a small one to keep the connection, else close it."""
        if not self.keep_alive:
            conn.close()
            return
        drained = 0
        try:
            while drained <= _DRAIN_LIMIT:
                event = await conn.next_event(ctx)
                kind = type(event)
                if kind is h11.Data:
                    drained += len(event.data)
                elif kind is h11.EndOfMessage or kind is h11.ConnectionClosed:
                    self._release(conn, conn.reusable)
                    return
                else:
                    break
        except BaseException:
            conn.close()
            raise
        conn.close()


def _positive(name: str, value: N) -> N:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return value


def _body_too_large(ctx: RequestContext, limit: int, why: str) -> ResponseTooLarge:
    return ResponseTooLarge(ctx.method, ctx.url, f"the response body is larger than max_body_size ({limit} bytes; "
                            f"{why}): raise HttpClient(max_body_size=...) or stream it with stream_request", limit)


def _proxied_request(method: str, target: Target, headers: list[tuple[str, str]], route: ProxyRoute) -> h11.Request:
    """The request for ``route``'s proxy: absolute form for http; the plain request inside an https tunnel."""
    if target.is_tls:
        return h11.Request(method=method, target=target.target, headers=headers)
    if route.authorization is not None:
        headers = headers + [("proxy-authorization", route.authorization)]
    absolute = f"{target.scheme}://{target.host_header}{target.target}"
    return h11.Request(method=method, target=absolute, headers=headers)


class _Head:
    """A response head converted once: status line, code and headers."""

    __slots__ = ("status", "status_code", "headers")

    def __init__(self, event: h11.Response) -> None:
        reason = event.reason.decode("latin-1")
        self.status = f"HTTP/{event.http_version.decode('ascii')} {event.status_code} {reason}".rstrip()
        self.status_code = event.status_code
        self.headers = Headers._from_wire(event.headers)


__all__ = ["HttpClient"]
