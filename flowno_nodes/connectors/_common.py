"""What the connector nodes share: secrets, header building, argument checks, body decoding.

Theory of operation: node arguments travel through the flow graph as constant inputs and data, and
instruments may print them (``LogInstrument`` logs every value a node emits). A credential must
therefore never be a plain ``str`` inside the graph: ``Secret`` wraps it with a masked ``repr`` and
``str``, and only ``reveal()`` (called by a connector at the last moment, to build a request header)
gives the value back. ``build_headers`` accepts ``Secret`` values for that reason.

``decode_body`` fixes what the HTTP nodes return: JSON content types are decoded, textual ones are
returned as ``str``, anything else as ``bytes``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flowno_core.io import Headers, Response, Timeout

#: The connectors' default timeouts: 30 s to connect, 300 s of silence while reading, no total limit.
DEFAULT_TIMEOUT = Timeout()

_TEXT_TYPES = frozenset({
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/xml",
    "application/xhtml+xml",
    "application/yaml",
    "image/svg+xml",
})


class Secret:
    """A credential that never shows itself in ``repr``, ``str``, f-strings, logs or errors.

    Pass one wherever a connector takes a key or a header value (``ChatCompletion(..., api_key=...)``,
    ``HttpGet(url, {"Authorization": Secret("Bearer ...")})``). ``ChatCompletion`` wraps a plain
    string key itself.

    Args:
        value: the secret text (another ``Secret`` is unwrapped).

    Examples:
        >>> key = Secret("sk-very-secret")
        >>> key, f"{key}"
        (Secret('***'), "Secret('***')")
        >>> key.reveal()
        'sk-very-secret'
    """

    __slots__ = ("_value",)

    def __init__(self, value: "str | Secret") -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"Secret() takes a str, not {type(value).__name__}")
        self._value = value

    @classmethod
    def from_env(cls, name: str) -> "Secret | None":
        """The environment variable ``name`` as a Secret (None when unset or empty).

        Examples:
            >>> Secret.from_env("FLOWNO_DOCTEST_UNSET_VARIABLE") is None
            True
        """
        value = os.environ.get(name)
        return cls(value) if value else None

    def reveal(self) -> str:
        """The secret text itself; use it only to build the request that needs it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)


def reveal(value: "str | Secret | None") -> str | None:
    """The text of a ``Secret`` (or a plain string); None stays None."""
    if isinstance(value, Secret):
        return value.reveal()
    return value


def check_url(node_name: str, url: Any) -> str:
    """``url`` itself, or a TypeError naming the node when it is not a string."""
    if isinstance(url, str):
        return url
    raise TypeError(
        f"{node_name}: url must be a str such as 'http://127.0.0.1:8000/items', got {type(url).__name__} {url!r}"
    )


def build_headers(node_name: str, headers: Any) -> Headers | None:
    """Per-request ``Headers`` from None, a ``Headers``, or a mapping of names to str/Secret values."""
    if headers is None:
        return None
    if isinstance(headers, Headers):
        return headers
    if not isinstance(headers, Mapping):
        raise TypeError(
            f"{node_name}: headers must be a dict of name -> value (or a flowno_core.io.Headers), "
            f"got {type(headers).__name__}"
        )
    built = Headers()
    for name, value in headers.items():
        if isinstance(value, list | tuple):
            for item in value:
                built.add(name, reveal(item))  # type: ignore[arg-type]
        else:
            built.set(name, reveal(value))  # type: ignore[arg-type]
    return built


def media_type(headers: Headers) -> str:
    """The lower-cased media type of the Content-Type header ("" when absent)."""
    return (headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def decode_body(response: Response) -> Any:
    """A whole response body as JSON value, ``str`` or ``bytes`` (see the module docstring).

    JSON types (``application/json``, ``application/*+json``) give the decoded value (None for an
    empty body); ``text/*``, a few textual ``application/*`` types and any type that declares a
    ``charset`` give ``str``; everything else gives ``bytes``.
    """
    if response.is_json():
        if not response.body.strip():
            return None
        try:
            return response.decode_json()
        except ValueError as error:
            raise ValueError(
                f"{response.method} {response.url}: the response says it is JSON "
                f"({response.headers.get('content-type')}) but its body is not valid JSON: {error}"
            ) from None
    content_type = (response.headers.get("content-type") or "").lower()
    media = media_type(response.headers)
    if media.startswith("text/") or media in _TEXT_TYPES or "charset=" in content_type:
        return response.text()
    return response.body
