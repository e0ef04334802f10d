"""Incremental Content-Encoding decoders (gzip, deflate) on top of ``zlib``.

Theory of operation: a ``BodyDecoder`` is built from the ``Content-Encoding`` header and fed the body
piece by piece as it arrives; it returns whatever decoded bytes are ready, so a compressed stream can
be consumed chunk by chunk whatever the read boundaries. Encodings apply in header order and are
undone in reverse. ``deflate`` accepts both the zlib-wrapped form (RFC 9110) and the raw form some
servers send; gzip accepts several concatenated members. ``identity`` is ignored, and an encoding
we did not ask for is left untouched (the caller sees the raw bytes and the header). ``finish``
checks that the compressed stream ended cleanly.
"""

from __future__ import annotations

import zlib


class DecodeError(ValueError):
    """Compressed data that zlib rejects (reported by the client as an HttpProtocolError)."""


class _ZlibStage:
    __slots__ = ("_kind", "_obj", "_started", "_pending")

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._obj: zlib._Decompress | None = None
        self._started = False
        self._pending = b""  # deflate: bytes seen before we could tell zlib from raw

    def _new(self, wbits: int) -> zlib._Decompress:
        return zlib.decompressobj(wbits)

    def feed(self, data: bytes) -> bytes:
        if self._obj is None:
            if self._kind == "gzip":
                self._obj = self._new(16 + zlib.MAX_WBITS)
            else:
                self._pending += data
                if len(self._pending) < 2:
                    return b""
                data, self._pending = self._pending, b""
                first, second = data[0], data[1]
                wrapped = (first & 0x0F) == 8 and ((first << 8) | second) % 31 == 0
                self._obj = self._new(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        out = []
        try:
            while data:
                out.append(self._obj.decompress(data))
                data = b""
                if self._obj.eof and self._obj.unused_data:
                    rest = self._obj.unused_data
                    if self._kind != "gzip":
                        raise DecodeError(f"{len(rest)} bytes after the end of the deflate stream")
                    self._obj = self._new(16 + zlib.MAX_WBITS)  # next gzip member
                    data = rest
        except zlib.error as error:
            raise DecodeError(f"invalid {self._kind} data ({error})") from None
        return b"".join(out)

    def finish(self) -> bytes:
        if self._obj is None:
            if self._pending:
                return self.feed_final()
            return b""  # an empty body is a valid empty stream
        try:
            tail = self._obj.flush()
        except zlib.error as error:
            raise DecodeError(f"invalid {self._kind} data ({error})") from None
        if not self._obj.eof:
            raise DecodeError(f"the {self._kind} stream is truncated")
        return tail

    def feed_final(self) -> bytes:
        data, self._pending = self._pending, b""
        self._obj = self._new(zlib.MAX_WBITS)
        out = self.feed(data)
        return out + self.finish()


class BodyDecoder:
    """Undo the ``Content-Encoding`` of a body fed in pieces.

    Examples:
        >>> import gzip
        >>> blob = gzip.compress(b"hello world")
        >>> decoder = BodyDecoder("gzip")
        >>> decoder.feed(blob[:5]) + decoder.feed(blob[5:]) + decoder.finish()
        b'hello world'
    """

    __slots__ = ("_stages",)

    def __init__(self, content_encoding: str | None) -> None:
        self._stages: list[_ZlibStage] = []
        if not content_encoding:
            return
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        known = [c if c != "x-gzip" else "gzip" for c in codings if c != "identity"]
        if any(c not in ("gzip", "deflate") for c in known):
            return  # not ours to undo: pass the bytes through
        self._stages = [_ZlibStage(c) for c in reversed(known)]

    @property
    def active(self) -> bool:
        return bool(self._stages)

    def feed(self, data: bytes) -> bytes:
        for stage in self._stages:
            if not data:
                return b""
            data = stage.feed(data)
        return data

    def finish(self) -> bytes:
        out = b""
        for stage in self._stages:
            if out:
                out = stage.feed(out)
            out += stage.finish()
        return out
