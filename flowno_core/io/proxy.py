"""Proxies for the client: which proxy a URL goes through, and the CONNECT tunnel for https.

Theory of operation: a request either goes straight to its origin or through an HTTP proxy. The
proxy comes from ``HttpClient(proxy=...)`` or, with ``trust_env`` (the default, as in requests and
httpx), from the environment: ``http_proxy`` / ``https_proxy`` / ``all_proxy`` (upper-case names too,
lower-case winning; ``HTTP_PROXY`` is ignored when ``REQUEST_METHOD`` says we run as a CGI script,
CVE-2016-1000110; read by ``urllib.request.getproxies_environment``) minus the hosts listed in
``no_proxy``. The environment is read again only when one of those variables changes (a handful of
dictionary lookups per request).

An ``http://`` URL is sent to the proxy in absolute form (``GET http://host/path HTTP/1.1``); a
connection to the proxy can carry requests for any origin. An ``https://`` URL first opens a tunnel
with ``CONNECT host:port`` and then does the TLS handshake with the origin through it, so the proxy
sees neither the request nor the response. Proxy credentials in the proxy URL
(``http://user:pass@proxy:3128``) are sent as ``Proxy-Authorization: Basic``; a proxy that refuses
the tunnel is reported with its status. Only ``http://`` proxies are supported (a ``socks5://`` or
``https://`` proxy is refused with ``InvalidURL`` naming where it came from).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment

import h11

from .._sockets import SocketHandle
from ._url import Target, parse_url, redact
from .errors import HttpConnectionError, InvalidURL

_ENV_NAMES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
              "no_proxy", "NO_PROXY", "REQUEST_METHOD")
# os.environ keeps its entries in ``_data`` (bytes on POSIX, updated by every os.environ change);
# looking them up there costs 0.4 µs instead of 6 µs through os.environ.get, once per HttpClient.
_RAW_ENVIRON = getattr(os.environ, "_data", None) if os.name == "posix" else None
_RAW_NAMES = tuple(name.encode() for name in _ENV_NAMES)


def _environment_key() -> tuple[object, ...]:
    """The values of the proxy variables: a new key means the proxies must be read again."""
    if isinstance(_RAW_ENVIRON, dict):
        return tuple(map(_RAW_ENVIRON.get, _RAW_NAMES))
    environ = os.environ
    return tuple([environ.get(name) for name in _ENV_NAMES])


@dataclass(frozen=True, slots=True)
class ProxyRoute:
    """How to reach an origin through a proxy.

    Attributes:
        proxy: the proxy's address (scheme ``http``).
        shown: the proxy URL for messages (password masked).
        authorization: the ``Proxy-Authorization`` value, or ``None``.
    """

    proxy: Target
    shown: str
    authorization: str | None

    def pool_key(self, target: Target) -> tuple[object, ...]:
        """Connections to the proxy serve every http origin; a tunnel serves one https origin."""
        if target.is_tls:
            return ("tunnel", self.proxy.host, self.proxy.port, self.authorization) + target.origin
        return ("proxy", self.proxy.host, self.proxy.port, self.authorization)


def make_route(proxy_url: str, source: str) -> ProxyRoute:
    """A ``ProxyRoute`` from a proxy URL (``host:port`` alone means ``http://host:port``).

    ``source`` says where the URL came from (``"HTTPS_PROXY"``, ``"HttpClient(proxy=...)"``) for the
    error raised when it cannot be used.

    Examples:
        >>> route = make_route("http://me:secret@proxy.local:3128", "HTTP_PROXY")
        >>> route.proxy.host, route.proxy.port, route.shown, route.authorization
        ('proxy.local', 3128, 'http://me:***@proxy.local:3128', 'Basic bWU6c2VjcmV0')
    """
    url = proxy_url.strip()
    if "://" not in url:
        url = "http://" + url
    shown = redact(url)
    scheme = url.split("://", 1)[0].lower()
    if scheme != "http":
        raise InvalidURL("CONNECT", shown, f"{source}: only http:// proxies are supported, not {scheme}://")
    try:
        target = parse_url(url, "CONNECT")
        parts = urlsplit(url)
    except (InvalidURL, ValueError) as error:
        detail = error.detail if isinstance(error, InvalidURL) else str(error)
        raise InvalidURL("CONNECT", shown, f"{source}: {detail}") from None
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode("utf-8")
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return ProxyRoute(target, shown, authorization)


class ProxyChoice:
    """Which proxy each URL goes through: the environment's proxies (or one explicit proxy) and the
    ``no_proxy`` exemptions. Immutable; ``from_environment`` re-reads the variables only when one of
    them changed since the last call.

    A proxy URL that cannot be used (``socks5://...``) is kept as its ``InvalidURL`` and raised only
    by a request that would go through it.

    Example::

        choice = ProxyChoice.from_environment()
        route = choice.route_for(parse_url("https://api.example.com/v1"), "GET", "https://api.example.com/v1")
    """

    __slots__ = ("_routes", "_no_proxy")

    _cache: tuple[tuple[object, ...], "ProxyChoice"] | None = None

    def __init__(self, routes: dict[str, ProxyRoute | InvalidURL], no_proxy: tuple[str, ...] = ()) -> None:
        self._routes = routes
        self._no_proxy = no_proxy

    @property
    def empty(self) -> bool:
        """True when no URL goes through a proxy."""
        return not self._routes

    @classmethod
    def explicit(cls, proxy_url: str) -> "ProxyChoice":
        """Every URL through ``proxy_url`` (``HttpClient(proxy=...)``)."""
        return cls({"all": make_route(proxy_url, "HttpClient(proxy=...)")})

    @classmethod
    def from_environment(cls) -> "ProxyChoice":
        """The proxies that ``http_proxy``, ``https_proxy``, ``all_proxy`` and ``no_proxy`` ask for."""
        key = _environment_key()
        cached = cls._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        found = getproxies_environment()
        routes: dict[str, ProxyRoute | InvalidURL] = {}
        for scheme in ("http", "https", "all"):
            value = found.get(scheme)
            if value:
                try:
                    routes[scheme] = make_route(value, f"the {scheme}_proxy environment variable")
                except InvalidURL as error:
                    routes[scheme] = error
        no_proxy = tuple(part.strip().lower() for part in found.get("no", "").split(",") if part.strip())
        choice = cls(routes, no_proxy)
        cls._cache = (key, choice)
        return choice

    def route_for(self, target: Target, method: str, url: str) -> ProxyRoute | None:
        """The proxy for ``target`` (``None``: connect directly).

        Raises ``InvalidURL`` naming ``method``, ``url`` and the proxy when that proxy is unusable.
        """
        route = self._routes.get(target.scheme) or self._routes.get("all")
        if route is None or bypasses(target.host, target.port, self._no_proxy):
            return None
        if isinstance(route, InvalidURL):
            raise InvalidURL(method, url, f"cannot use the proxy {route.url}: {route.detail}")
        return route


def bypasses(host: str, port: int, no_proxy: tuple[str, ...]) -> bool:
    """True when ``no_proxy`` entries exempt ``host:port`` from the proxy.

    An entry is ``*`` (everything), a domain (``example.com`` or ``.example.com``: that host and its
    subdomains), an IP address or network (``10.0.0.0/8``, ``::1``), each optionally with ``:port``.

    Examples:
        >>> entries = ("localhost", ".corp.example", "10.0.0.0/8", "api.test:8443")
        >>> [bypasses(h, p, entries) for h, p in [("localhost", 80), ("svc.corp.example", 443),
        ...   ("10.1.2.3", 80), ("api.test", 443), ("api.test", 8443), ("example.org", 80)]]
        [True, True, True, False, True, False]
    """
    host = host.lower().strip("[]")
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = None
    for entry in no_proxy:
        if entry == "*":
            return True
        name, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.lstrip(".").lstrip("*.")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:8080
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        if port.isdigit():
            return host, int(port)
    return entry, None


async def open_tunnel(sock: SocketHandle, route: ProxyRoute, target: Target, ssl_context: ssl.SSLContext,
                      method: str, url: str, max_head: int) -> None:
    """Ask the proxy on ``sock`` for a tunnel to ``target`` (CONNECT), then do TLS with the origin.

    On return ``sock`` speaks TLS with the origin. Raises ``HttpConnectionError`` naming the proxy
    when it refuses (any non-2xx answer) or closes; the caller bounds the time and closes ``sock``.
    """
    authority = f"[{target.host}]:{target.port}" if ":" in target.host else f"{target.host}:{target.port}"
    headers = [("Host", authority)]
    if route.authorization is not None:
        headers.append(("Proxy-Authorization", route.authorization))
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head)
    await sock.sendAll(conn.send(h11.Request(method="CONNECT", target=authority, headers=headers)) or b"")
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as error:
            raise HttpConnectionError(method, url, f"proxy {route.shown} sent a malformed answer to "
                                                   f"CONNECT {authority} ({error})") from None
        if event is h11.NEED_DATA:
            conn.receive_data(await sock.recv(65536))
            continue
        if type(event) is h11.Response:
            break
        if type(event) is h11.ConnectionClosed:
            raise HttpConnectionError(method, url, f"proxy {route.shown} closed the connection instead of "
                                                   f"answering CONNECT {authority}")
    if not 200 <= event.status_code < 300:
        reason = event.reason.decode("latin-1")
        raise HttpConnectionError(method, url, f"proxy {route.shown} refused the tunnel to {authority}: "
                                               f"{event.status_code} {reason}".rstrip())
    if conn.trailing_data[0]:
        raise HttpConnectionError(method, url, f"proxy {route.shown} sent data before the TLS handshake")
    await sock.start_tls(ssl_context, target.host)


__all__ = ["ProxyChoice", "ProxyRoute", "bypasses", "make_route", "open_tunnel"]
