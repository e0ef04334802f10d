"""HTTP connector nodes: ``HttpGet`` and ``HttpPost`` (one value) and ``SSESource`` (a stream).

Theory of operation: each evaluation makes one request with a fresh ``flowno_core.io.HttpClient``
(``Connection: close``), so nothing is shared between evaluations or nodes and no connection
outlives the request. The mono nodes read the whole body, turn an error status into
``HTTPException`` (its message names the method, the URL and the status) and return the body
decoded by content type: JSON value, ``str`` or ``bytes``. ``SSESource`` is an async-generator node:
it streams the events of a ``text/event-stream`` response as run-level-1 chunks and closes the
connection in a ``finally`` block, so the socket is closed when the stream ends, when it fails, when
a consumer cancels the stream (``StreamCancelled`` arrives at the ``yield``) and when the flow is
torn down.

Transport errors come from flowno_core.io and already name the method and the URL (with secrets in
the URL masked): ``InvalidURL`` (a ``ValueError``), ``HttpConnectionError`` (a ``ConnectionError``,
e.g. connection refused), ``HttpTimeoutError`` (a ``TimeoutError``), ``HttpProtocolError``. Header
values never appear in errors or logs; pass credentials as ``Secret`` so they do not appear in the
flow's own logs either.

All parameters are input ports, in the order of the signature; they may be given by position or by
name and connected to other nodes.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from flowno_core import StreamCancelled, node
from flowno_core.io import HttpClient, HttpProtocolError, Timeout, streaming_response_is_ok

from .._wiring import with_keywords
from ._common import DEFAULT_TIMEOUT, build_headers, check_url, decode_body, media_type

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

SSEMode = Literal["json", "events"]


def _keep_first(accumulated: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
    """Accumulator that holds no history (the explicit final value replaces it)."""
    return accumulated


@with_keywords
@node
async def HttpGet(url: str, headers: Any = None, timeout: Timeout | float | None = DEFAULT_TIMEOUT) -> Any:
    """GET ``url`` and return the body: a JSON value, ``str`` or ``bytes`` (by Content-Type).

    JSON types (``application/json``, ``application/*+json``) are decoded (an empty body gives None);
    ``text/*``, other textual types and any type with a ``charset`` give ``str``; anything else
    gives ``bytes``. Redirects are followed; gzip/deflate are undone.

    Args:
        url: an ``http://`` or ``https://`` URL (the query string is sent as given).
        headers: extra request headers: a dict of name -> ``str`` or ``Secret``, or ``Headers``.
        timeout: a ``flowno_core.io.Timeout``, a number of seconds (connect and read) or None (no
            limit). Default: 30 s to connect, 300 s per read.

    Returns:
        The decoded body.

    Raises:
        HTTPException: a non-2xx status; the message names method, URL and status, e.g.
            ``"GET http://127.0.0.1:8000/items: HTTP/1.1 404 Not Found: b'no such item'"``.
        InvalidURL, HttpConnectionError, HttpTimeoutError, HttpProtocolError: see flowno_core.io.

    Example::

        with FlowHDL() as f:
            f.items = HttpGet("http://127.0.0.1:8000/items?page=1", timeout=5.0)
        f.run_until_complete()
        print(f.items.get_data()[0])
    """
    checked = check_url("HttpGet", url)
    response = await HttpClient().get(checked, extra_headers=build_headers("HttpGet", headers), timeout=timeout)
    return decode_body(response.raise_for_status())


@with_keywords
@node
async def HttpPost(
    url: str,
    json: Any = None,
    data: bytes | str | None = None,
    headers: Any = None,
    timeout: Timeout | float | None = DEFAULT_TIMEOUT,
) -> Any:
    """POST ``json`` (sent as JSON) or raw ``data`` to ``url``; return the decoded response body.

    The result is decoded as by ``HttpGet``: a JSON value, ``str`` or ``bytes`` by Content-Type.

    Args:
        url: an ``http://`` or ``https://`` URL.
        json: a value to send as ``application/json`` (takes precedence over ``data``).
        data: a raw body (``str`` is sent as UTF-8) when ``json`` is None.
        headers: extra request headers: a dict of name -> ``str`` or ``Secret``, or ``Headers``.
        timeout: a ``Timeout``, a number of seconds or None (see ``HttpGet``).

    Returns:
        The decoded body.

    Raises:
        HTTPException: a non-2xx status (the message names method, URL and status).
        InvalidURL, HttpConnectionError, HttpTimeoutError, HttpProtocolError: see flowno_core.io.

    Example::

        with FlowHDL() as f:
            f.doc = Summarize(f.text)
            f.saved = HttpPost("http://127.0.0.1:8000/docs", f.doc)     # json=f.doc
    """
    checked = check_url("HttpPost", url)
    extra = build_headers("HttpPost", headers)
    client = HttpClient()
    if json is not None:
        response = await client.post(checked, json=json, extra_headers=extra, timeout=timeout)
    else:
        response = await client.post(checked, data=data, extra_headers=extra, timeout=timeout)
    return decode_body(response.raise_for_status())


@with_keywords
@node(accumulate=_keep_first)
async def SSESource(
    url: str,
    mode: SSEMode = "json",
    headers: Any = None,
    timeout: Timeout | float | None = DEFAULT_TIMEOUT,
    json: Any = None,
) -> Any:
    """Stream the server-sent events of ``url``: JSON values or ``ServerSentEvent`` objects.

    A streaming node: each event is a run-level-1 chunk; the final value is the number of events
    received (events are not collected, so an endless stream uses constant memory). The
    connection is closed when the stream ends (end of body or ``data: [DONE]``), on any error, and
    as soon as a consumer cancels the stream or the flow stops.

    Args:
        url: the event-stream URL.
        mode: ``"json"`` yields the JSON value of each ``data:`` event and ends at ``[DONE]``;
            ``"events"`` yields ``flowno_core.io.ServerSentEvent`` objects (``data``, ``event``,
            ``id``, ``retry``) for streams whose data is not JSON.
        headers: extra request headers: a dict of name -> ``str`` or ``Secret``, or ``Headers``.
        timeout: a ``Timeout``, a number of seconds or None; ``read`` bounds the silence between
            two events.
        json: when given, the request is a POST with this JSON body (many streaming APIs use POST).

    Raises:
        HTTPException: a non-2xx status (method, URL, status and body in the message).
        HttpProtocolError: the response is not ``text/event-stream``, or a JSON event is malformed.
        InvalidURL, HttpConnectionError, HttpTimeoutError: see flowno_core.io.

    Example::

        @node(stream_in=["events"])
        async def Show(events: Stream[dict]):
            async for event in events:
                print(event)

        with FlowHDL() as f:
            f.events = SSESource("http://127.0.0.1:8000/events")
            f.show = Show(f.events)
        f.run_until_complete()
    """
    checked = check_url("SSESource", url)
    if mode not in ("json", "events"):
        raise ValueError(f'SSESource: mode must be "json" or "events", not {mode!r}')
    method = "GET" if json is None else "POST"
    response = await HttpClient().stream_request(
        method, checked, json=json, extra_headers=build_headers("SSESource", headers), timeout=timeout, sse=mode
    )
    count = 0
    try:
        if not streaming_response_is_ok(response):
            await response.raise_for_status()  # always raises HTTPException
            return
        media = media_type(response.headers)
        if media != "text/event-stream":
            raise HttpProtocolError(
                response.method, response.url,
                f"expected a text/event-stream response, got {media or 'no Content-Type'} "
                "(use HttpGet for a plain response)",
            )
        try:
            async for value in response.body:
                count += 1
                yield value
        except StreamCancelled:
            logger.debug("SSESource: stream of %s cancelled by a consumer after %d events", response.url, count)
            raise StopAsyncIteration(count) from None
    finally:
        await response.aclose()
    raise StopAsyncIteration(count)
