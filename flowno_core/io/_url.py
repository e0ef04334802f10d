"""Parsing request URLs into what a connection needs, and masking secrets in URLs shown in errors.

Theory of operation: ``parse_url`` is pure. It keeps the query string (flowno dropped it, SPEC §6.1
item 15), percent-encodes characters that may not appear in a request target, drops the fragment,
and computes the ``Host`` header (with the port when it is not the scheme's default, IPv6 literals
in brackets, a non-ASCII host name in its IDNA form). Results are cached per URL string (``Target`` is immutable). ``redact`` is applied to every URL that goes into an error message or a log line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import InvalidURL

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SECRET_PARAM = re.compile(r"(?i)^(.*[_-])?(key|apikey|token|secret|password|passwd|sig|signature|auth|code)$")
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a request goes: ``origin`` identifies a reusable connection."""

    scheme: str
    host: str
    port: int
    target: str  # path?query, as sent on the request line
    host_header: str
    url: str  # normalised URL (no fragment)
    is_ip_literal: bool = False

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host.lower(), self.port)

    @property
    def is_tls(self) -> bool:
        return self.scheme == "https"



class _BadURL(Exception):
    pass


def parse_url(url: str, method: str = "GET") -> Target:
    """Split ``url`` into connection data; raises ``InvalidURL`` (naming method and URL)."""
    if not isinstance(url, str):
        raise InvalidURL(method, repr(url), "the URL must be a str")
    try:
        return _parse(url)
    except _BadURL as error:
        raise InvalidURL(method, redact(url), str(error)) from None


@lru_cache(maxsize=512)
def _parse(url: str) -> Target:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise _BadURL(f"cannot parse the URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _BadURL(f"unsupported scheme {parts.scheme!r}: use http:// or https://")
    host = parts.hostname
    if not host:
        raise _BadURL("the URL has no host")
    if any(ch in host for ch in "\r\n\t /\\") or "\x00" in url:
        raise _BadURL("the host contains forbidden characters")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")  # bücher.example -> xn--bcher-kva.example
        except UnicodeError as error:
            raise _BadURL(f"the host is not a valid internationalized domain name ({error})") from None
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise _BadURL(f"port {port} is out of range")
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    if not path.startswith("/"):
        path = "/" + path
    target = path + ("?" + quote(parts.query, safe=_SAFE_QUERY + "=") if parts.query else "")
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    normalised = urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
        literal = True
    except ValueError:
        literal = False
    return Target(scheme, host, port, target, host_header, normalised, literal)


@lru_cache(maxsize=512)
def redact(url: str) -> str:
    """``url`` with its password and secret-looking query values replaced by ``***``.

    Examples:
        >>> redact("https://user:pw@api.example/v1?api_key=abc&q=1")
        'https://user:***@api.example/v1?api_key=***&q=1'
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostport}"
    query = parts.query
    if query:
        masked = []
        for item in query.split("&"):
            name, sep, value = item.partition("=")
            masked.append(f"{name}=***" if sep and value and _SECRET_PARAM.match(name) else item)
        query = "&".join(masked)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
