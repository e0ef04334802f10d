"""Headers: a case-insensitive, multi-valued HTTP header collection.

Theory of operation: names are stored lower-cased in a dict that keeps first-insertion order; each
name maps to the list of its field values. A repeated field (``Set-Cookie`` twice) therefore stays two
separate lines on the wire (iteration and ``stringify`` yield one pair per value), while ``get`` joins
the values with ``", "`` as flowno did. Every name and value is validated when it enters (``set``,
``add``, the constructor), so a bad header fails at the call that made it with a ``ValueError`` naming
it, never later inside the connection: a name must be an RFC 9110 token (ASCII letters, digits and
``!#$%&'*+-.^_`|~``); a value must be printable ASCII or tab: CR, LF or NUL could smuggle an extra
line into a message (header injection, SPEC §6.1 item 19), other control characters are invalid
HTTP, and non-ASCII text cannot be sent as is (encode it first, e.g. percent-encoding or RFC 8187).
Headers read from the wire (``_from_wire``) were already checked by h11 and are taken as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Union

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NOT_IN_VALUE = re.compile(r"[^\t\x20-\x7e]")  # anything but tab and printable ASCII

HeaderValue = Union[str, list[str]]


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"header name must be str, got {type(name).__name__}")
    if not _TOKEN.fullmatch(name):
        if not name.isascii():
            raise ValueError(f"invalid header name {name!r}: header names must be ASCII")
        raise ValueError(f"invalid header name {name!r}: use letters, digits and !#$%&'*+-.^_`|~ only")
    return name.lower()


def _check_value(name: str, value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"value of header {name!r} must be str or list[str], got {type(value).__name__}")
    bad = _NOT_IN_VALUE.search(value)
    if bad is not None:
        raise ValueError(_bad_value_message(name, bad.group()))
    return value.strip(" \t")


def _bad_value_message(name: str, char: str) -> str:
    if char in "\r\n\x00":
        return f"value of header {name!r} contains CR, LF or NUL, which could inject header lines"
    if ord(char) > 0x7E and char != "\x7f":
        return (f"value of header {name!r} contains the non-ASCII character {char!r} (U+{ord(char):04X}): "
                "header values must be ASCII (percent-encode or base64 the text first)")
    return f"value of header {name!r} contains the control character {char!r}, which HTTP does not allow"


def _values(name: str, value: HeaderValue) -> list[str]:
    if isinstance(value, list | tuple):
        return [_check_value(name, item) for item in value]
    return [_check_value(name, value)]


def charset_of(content_type: str | None, default: str = "utf-8") -> str:
    """The ``charset`` parameter of a Content-Type value (``default`` when there is none).

    Examples:
        >>> charset_of('text/plain; charset="latin-1"'), charset_of("application/json")
        ('latin-1', 'utf-8')
    """
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return default


class Headers:
    """Case-insensitive HTTP headers; a name may carry several values (separate lines on the wire).

    Examples:
        >>> headers = Headers()
        >>> headers.set("Content-Type", "application/json")
        >>> headers.add("Set-Cookie", "a=1")
        >>> headers.add("Set-Cookie", "b=2")
        >>> headers.get("content-type")
        'application/json'
        >>> headers.get("SET-COOKIE")
        'a=1, b=2'
        >>> headers.get_all("set-cookie")
        ['a=1', 'b=2']
        >>> headers.stringify().split("\\r\\n")
        ['content-type: application/json', 'set-cookie: a=1', 'set-cookie: b=2']
    """

    __slots__ = ("_fields",)

    def __init__(self, initial: Mapping[str, HeaderValue] | Iterable[tuple[str, str]] | None = None) -> None:
        self._fields: dict[str, list[str]] = {}
        if initial is None:
            return
        pairs = initial.items() if isinstance(initial, Mapping) else initial
        for name, value in pairs:
            if isinstance(value, list | tuple):
                for item in value:
                    self.add(name, item)
            else:
                self.add(name, value)

    @classmethod
    def _from_wire(cls, pairs: Iterable[tuple[bytes, bytes]]) -> "Headers":
        """Headers from h11's already validated ``(lower-case name, value)`` byte pairs."""
        headers = cls()
        fields = headers._fields
        for raw_name, raw_value in pairs:
            name = raw_name.decode("latin-1")
            values = fields.get(name)
            if values is None:
                fields[name] = [raw_value.decode("latin-1")]
            else:
                values.append(raw_value.decode("latin-1"))
        return headers

    def set(self, name: str, value: HeaderValue) -> None:
        """Replace every value of ``name``; a list gives one field line per item.

        Examples:
            >>> h = Headers()
            >>> h.set("Accept", ["text/html", "application/json"])
            >>> h.get("accept")
            'text/html, application/json'
        """
        key = _check_name(name)
        self._fields[key] = _values(name, value)

    def add(self, name: str, value: str) -> None:
        """Append one more value for ``name`` (kept as a separate field line).

        Examples:
            >>> h = Headers()
            >>> h.add("Via", "a"); h.add("via", "b")
            >>> h.get_all("VIA")
            ['a', 'b']
        """
        key = _check_name(name)
        self._fields.setdefault(key, []).extend(_values(name, value))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The values of ``name`` joined with ``", "``, or ``default`` when absent.

        Examples:
            >>> Headers({"X-A": "1"}).get("x-a"), Headers().get("x-a", "none")
            ('1', 'none')
        """
        values = self._fields.get(name.lower())
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name`` in arrival order (empty list when absent).

        Examples:
            >>> Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]).get_all("set-cookie")
            ['a=1', 'b=2']
        """
        return list(self._fields.get(name.lower(), ()))

    def delete(self, name: str) -> None:
        """Remove every value of ``name`` (no error when absent).

        Examples:
            >>> h = Headers({"X-A": "1"}); h.delete("x-a"); h.get("X-A") is None
            True
        """
        self._fields.pop(name.lower(), None)

    def merge(self, headers: "Headers") -> None:
        """Copy ``headers`` into this one; for each name present in ``headers``, its values win.

        Examples:
            >>> a = Headers({"Accept": "text/html", "X-A": "1"})
            >>> a.merge(Headers({"accept": "application/json"}))
            >>> a.get("accept"), a.get("x-a")
            ('application/json', '1')
        """
        for name, values in headers._fields.items():
            self._fields[name] = list(values)

    def copy(self) -> "Headers":
        """An independent copy.

        Examples:
            >>> a = Headers({"X-A": "1"}); b = a.copy(); b.set("x-a", "2"); a.get("x-a")
            '1'
        """
        clone = Headers()
        clone._fields = {name: list(values) for name, values in self._fields.items()}
        return clone

    def items(self) -> list[tuple[str, str]]:
        """One ``(lower-case name, value)`` pair per field line."""
        return [(name, value) for name, values in self._fields.items() for value in values]

    def stringify(self) -> str:
        """The header block as CRLF-separated ``name: value`` lines (no trailing CRLF).

        Examples:
            >>> Headers([("A", "1"), ("B", "2")]).stringify()
            'a: 1\\r\\nb: 2'
        """
        return "\r\n".join(f"{name}: {value}" for name, value in self.items())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(self._fields.get(name.lower()))

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __len__(self) -> int:
        return sum(len(values) for values in self._fields.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._fields == other._fields

    def __repr__(self) -> str:
        return f"Headers({self.items()!r})"


__all__ = ["Headers"]
