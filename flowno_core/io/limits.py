"""ServerLimits: how much an HttpServer accepts from its clients, and for how long it waits.

Theory of operation: one frozen record holds every limit, so a server's protection is written in
one place, shown in one ``repr`` and checked once (``__post_init__`` refuses a limit that is not a
positive number, naming it). ``HttpServer`` takes a ``ServerLimits`` (``limits=``) and, for
convenience, any field as a keyword argument that overrides it. The defaults are safe for a server
reachable by untrusted clients; docs/server-production.md says what each one protects against.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """The limits an ``HttpServer`` enforces; each has a safe default.

    Attributes:
        max_header_size: the largest request head (request line and header fields) in bytes;
            bigger: 431.
        max_header_count: the most header fields in one request; more: 431.
        max_body_size: the largest request body in bytes; bigger: 413 (refused before the body is
            read when Content-Length announces it).
        header_timeout: seconds a client has to complete a request head once it started sending
            it: a slow-loris client that drips its head byte by byte gets 408 and is dropped. Also
            how long a new connection may stay silent before it is closed (without an answer).
        request_timeout: seconds to receive a whole request (head and body) once it started;
            too slow: 408.
        idle_timeout: seconds a keep-alive connection may sit idle between requests before it is
            closed silently.
        write_timeout: seconds one write may wait for a client that does not read.
        max_connections: connections served at once; at the limit the server stops accepting
            (new connections wait in the listen backlog) and closes keep-alive connections that are
            idle, instead of failing.
        max_keepalive_requests: requests served on one connection; the last is answered with
            ``Connection: close``.

    Examples:
        >>> limits = ServerLimits(max_body_size=10 * 1024 * 1024, idle_timeout=5)
        >>> limits.max_body_size, limits.header_timeout
        (10485760, 10.0)
        >>> ServerLimits(max_connections=0)
        Traceback (most recent call last):
        ...
        ValueError: ServerLimits.max_connections must be a positive number, not 0
    """

    max_header_size: int = 16 * 1024
    max_header_count: int = 100
    max_body_size: int = 1024 * 1024
    header_timeout: float = 10.0
    request_timeout: float = 30.0
    idle_timeout: float = 30.0
    write_timeout: float = 30.0
    max_connections: int = 512
    max_keepalive_requests: int = 1000

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"ServerLimits.{spec.name} must be a positive number, not {value!r}")

    def replace(self, **changes: Any) -> "ServerLimits":
        """A copy with ``changes`` applied; an unknown name raises ``TypeError`` listing the known ones.

        Examples:
            >>> ServerLimits().replace(max_connections=64).max_connections
            64
        """
        names = [spec.name for spec in dataclasses.fields(self)]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise TypeError(f"unknown server limit(s) {', '.join(unknown)}; the limits are {', '.join(names)}")
        return dataclasses.replace(self, **changes)


__all__ = ["ServerLimits"]
