"""Routing table of HttpServer: method + path (with ``{name}`` segments) -> handler.

Theory of operation: routes are kept in registration order; a plain path is compared as a string
and a path with ``{name}`` segments is compiled once to a regex whose groups capture one segment
each. ``find`` returns the first route matching both method and path, or the set of methods that
match the path (so the server can answer 405 with ``Allow``) when only the method differs. HEAD is
answered wherever GET is (RFC 9110 section 9.3.2): a HEAD request without a HEAD route of its own
goes to the GET route, and ``Allow`` lists HEAD beside GET.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

Handler = Callable[[Any], Awaitable[Any]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def compile_path(path: str) -> re.Pattern[str] | None:
    """A regex for a route with ``{name}`` segments (None for a plain path).

    Examples:
        >>> compile_path("/items/{item_id}").match("/items/42").groupdict()
        {'item_id': '42'}
        >>> compile_path("/plain") is None
        True
    """
    if "{" not in path:
        return None
    parts, pos = [], 0
    for match in _PARAM.finditer(path):
        parts.append(re.escape(path[pos : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        pos = match.end()
    parts.append(re.escape(path[pos:]))
    return re.compile("^" + "".join(parts) + "$")


class Router:
    """Routes in registration order.

    Examples:
        >>> async def show(request): ...
        >>> router = Router()
        >>> router.add("GET", "/items/{item_id}", show)
        >>> handler, params, allowed = router.find("GET", "/items/7")
        >>> handler is show, params
        (True, {'item_id': '7'})
        >>> router.find("HEAD", "/items/7")[0] is show         # HEAD goes to the GET handler
        True
        >>> router.find("POST", "/items/7")[2]
        ['GET', 'HEAD']
    """

    __slots__ = ("_routes",)

    def __init__(self) -> None:
        self._routes: list[tuple[str, str, re.Pattern[str] | None, Handler]] = []

    def __bool__(self) -> bool:
        return bool(self._routes)

    def add(self, method: str, path: str, handler: Handler) -> None:
        if not path.startswith("/"):
            raise ValueError(f"route paths start with '/': {path!r}")
        self._routes.append((method.upper(), path, compile_path(path), handler))

    def find(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], list[str]]:
        """``(handler, path_params, [])`` on a match, else ``(None, {}, methods allowed for path)``."""
        allowed: list[str] = []
        get_route: tuple[Handler, dict[str, str]] | None = None  # HEAD's fallback
        for route_method, route_path, pattern, handler in self._routes:
            if pattern is None:
                if route_path != path:
                    continue
                params: dict[str, str] = {}
            else:
                match = pattern.match(path)
                if match is None:
                    continue
                params = match.groupdict()
            if route_method == method:
                return handler, params, []
            if route_method == "GET" and get_route is None:
                get_route = (handler, params)
            if route_method not in allowed:
                allowed.append(route_method)
        if get_route is not None:
            if method == "HEAD":
                return get_route[0], get_route[1], []
            if "HEAD" not in allowed:
                allowed.append("HEAD")
        return None, {}, sorted(allowed)
