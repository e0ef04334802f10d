"""File connector nodes: ``FileLines`` (a streaming line reader) and ``FileWriter`` (a streaming sink).

Theory of operation: file system calls block, so they never run on the loop thread. ``FileLines``
opens the file and reads it in batches of whole lines (``readlines(64 KiB)``) with ``to_thread``,
then yields the lines of a batch one by one: one thread hop per 64 KiB, not per line.

``FileWriter`` reads its ``stream_in`` input and hands the data to a flusher task that writes it
with ``to_thread`` to an unbuffered file, so every write reaches the operating system at once. While a write is in flight, newly arrived chunks
are gathered and go out together in the next write: a slow stream (tokens from an LLM) is written
chunk by chunk as it arrives, a fast one (lines of a big file) in large batches. When more than
``HIGH_WATER`` bytes are waiting, the node stops reading its input until they are written, which
back-pressures the producer. A write error is raised by the node (with the path in a note).

Both nodes close their file in a ``finally`` block (end, error, cancelled stream, flow stopped).
A blocking call is never interrupted: the file object is guarded by a lock, so closing it waits for
a read or write abandoned by a cancellation to finish instead of racing it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import IO, Any, TypeVar

from flowno_core import Stream, StreamCancelled, TaskHandle, node, spawn, to_thread

from .._wiring import with_keywords

R = TypeVar("R")

#: Size hint of one ``readlines`` batch of ``FileLines`` (characters).
READ_BATCH = 64 * 1024
#: Bytes ``FileWriter`` lets wait for the disk before it stops reading its input.
HIGH_WATER = 1024 * 1024

PathLike = str | os.PathLike[str]


class _LockedFile:
    """A file object whose operations (run on worker threads) and close are serialized by a lock."""

    __slots__ = ("file", "lock")

    def __init__(self, file: IO[Any]) -> None:
        self.file = file
        self.lock = threading.Lock()

    def run(self, operation: Callable[..., R], *args: Any) -> R:
        with self.lock:
            return operation(*args)

    def close(self) -> None:
        with self.lock:
            self.file.close()

    def close_quietly(self) -> None:
        """Close on an error path: a second error must not hide the first one."""
        try:
            self.close()
        except OSError:
            pass


def _keep_first(accumulated: tuple[Any, ...], chunk: tuple[Any, ...]) -> tuple[Any, ...]:
    """Accumulator that holds no history (the explicit final value replaces it)."""
    return accumulated


def _strip_line_end(line: str) -> str:
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    if line.endswith("\r"):
        return line[:-1]
    return line


def _add_path_note(error: BaseException, action: str, path: Any) -> None:
    note = f"while {action} {os.fspath(path)!r}"
    if note not in getattr(error, "__notes__", ()):
        error.add_note(note)


@with_keywords
@node(accumulate=_keep_first)
async def FileLines(path: PathLike, encoding: str = "utf-8", keep_ends: bool = False) -> Any:
    """Stream the lines of a text file without blocking the event loop.

    A streaming node: each line is a run-level-1 chunk; the final value is the number of lines
    read (lines are not collected, so a large file uses constant memory). ``\\n``, ``\\r\\n`` and
    ``\\r`` all end a line. If a consumer cancels the stream, the file is closed at once and the
    final value is the number of lines read so far.

    Args:
        path: the file to read.
        encoding: its text encoding.
        keep_ends: keep each line's line ending (as in the file, untranslated); then
            ``FileWriter(out, FileLines(src, keep_ends=True))`` copies the file exactly.

    Raises:
        OSError: the file cannot be opened or read (e.g. ``FileNotFoundError``).
        UnicodeDecodeError: the file is not valid in ``encoding`` (the path is in a note).

    Example::

        @node(stream_in=["lines"])
        async def CountWords(lines: Stream[str]):
            total = 0
            async for line in lines:
                total += len(line.split())
            return total

        with FlowHDL() as f:
            f.lines = FileLines("book.txt")
            f.words = CountWords(f.lines)
        f.run_until_complete()
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"FileLines: path must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    locked = _LockedFile(await to_thread(open, path, "r", encoding=encoding, newline=""))
    count = 0
    try:
        while True:
            try:
                batch = await to_thread(locked.run, locked.file.readlines, READ_BATCH)
            except (OSError, UnicodeDecodeError) as error:
                _add_path_note(error, "reading", path)
                raise
            if not batch:
                break
            for line in batch:
                count += 1
                try:
                    yield line if keep_ends else _strip_line_end(line)
                except StreamCancelled:
                    raise StopAsyncIteration(count) from None
    finally:
        locked.close_quietly()
    raise StopAsyncIteration(count)


class _BatchWriter:
    """Gathers encoded chunks and writes them from a flusher task (see the module docstring)."""

    def __init__(self, locked: _LockedFile, path: Any) -> None:
        self.locked = locked
        self.path = path
        self.pending: list[bytes] = []
        self.pending_size = 0
        self.written = 0
        self.flusher: TaskHandle[None] | None = None
        self.error: BaseException | None = None

    async def write(self, data: bytes) -> None:
        self.raise_error()
        if not data:
            return
        self.pending.append(data)
        self.pending_size += len(data)
        if self.flusher is None:
            flusher = await spawn(self._flush())
            if not flusher.done:
                self.flusher = flusher
        elif self.pending_size >= HIGH_WATER:
            await self.drain()

    async def drain(self) -> None:
        """Wait until everything written so far is on disk (or raise the write error)."""
        flusher = self.flusher
        if flusher is not None:
            await flusher.join()
        if self.pending and self.error is None:
            await self._flush()
        self.raise_error()

    def raise_error(self) -> None:
        error = self.error
        if error is not None:
            self.error = None
            _add_path_note(error, "writing", self.path)
            raise error

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending, self.pending_size = self.pending, [], 0
                self.written += await to_thread(self.locked.run, _write_all, self.locked.file, batch)
        except Exception as error:  # noqa: BLE001 - handed to the node, which raises it
            self.error = error
            self.pending, self.pending_size = [], 0
        finally:
            self.flusher = None

    def close(self, quietly: bool = False) -> None:
        """Stop a flusher still running (error or cancellation) and close the file."""
        flusher = self.flusher
        if flusher is not None and not flusher.done:
            flusher.cancel()
        self.flusher = None
        if quietly:
            self.locked.close_quietly()
            return
        try:
            self.locked.close()
        except OSError as error:
            _add_path_note(error, "closing", self.path)
            raise


def _write_all(file: IO[bytes], batch: list[bytes]) -> int:
    """Write ``batch`` to an unbuffered file (a raw write may take only part of the data)."""
    data = memoryview(batch[0] if len(batch) == 1 else b"".join(batch))
    total = len(data)
    while data:
        written = file.write(data)
        if not written:
            raise OSError(f"the file accepted no data ({written!r} bytes written)")
        data = data[written:]
    return total


def _encode(chunk: Any, encoding: str, path: Any) -> bytes:
    if isinstance(chunk, str):
        return chunk.encode(encoding)
    if isinstance(chunk, bytes | bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(
        f"FileWriter({os.fspath(path)!r}): the stream must carry str or bytes chunks, got "
        f"{type(chunk).__name__} {chunk!r:.80}; convert the chunks first (e.g. a node that yields str(x))"
    )


@with_keywords
@node(stream_in=["text_stream"])
async def FileWriter(path: PathLike, text_stream: Stream[Any], encoding: str = "utf-8", append: bool = False) -> int:
    """Write a stream of ``str`` (or ``bytes``) chunks to a file as they arrive; return bytes written.

    A sink node with a streaming input. The file is created (or truncated; ``append=True`` adds to
    its end) when the node starts, each chunk is written as soon as possible and flushed (chunks
    that arrive while a write is in progress are written together), and the result is the number
    of bytes written. ``str`` chunks are encoded with ``encoding``; no newline is added or
    translated. Connected to an ordinary (non-streaming) node, it writes that node's value.

    Args:
        path: the file to write.
        text_stream: the chunks to write (``str`` or ``bytes``).
        encoding: the encoding of ``str`` chunks.
        append: add to the end of an existing file instead of replacing it.

    Returns:
        The number of bytes written.

    Raises:
        OSError: the file cannot be opened or written (the path is in the message or a note).
        TypeError: a chunk that is neither ``str`` nor ``bytes``.

    Example::

        @node(stream_in=["lines"])
        async def Shout(lines: Stream[str]):
            async for line in lines:
                yield line.upper() + "\\n"

        with FlowHDL() as f:
            f.lines = FileLines("in.txt")
            f.loud = Shout(f.lines)
            f.saved = FileWriter("out.txt", f.loud)
        f.run_until_complete()
        print(f.saved.get_data()[0], "bytes written")
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"FileWriter: path must be a str or os.PathLike, got {type(path).__name__} {path!r}")
    locked = _LockedFile(await to_thread(open, path, "ab" if append else "wb", buffering=0))
    writer = _BatchWriter(locked, path)
    try:
        async for chunk in text_stream:
            await writer.write(_encode(chunk, encoding, path))
        await writer.drain()
        writer.close()
    finally:
        writer.close(quietly=True)
    return writer.written
