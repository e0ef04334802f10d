"""flowno_nodes.connectors.files: FileLines and FileWriter in real flows (real files under tmp_path)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from flowno_core import FlowHDL, Stream, node
from flowno_nodes import FileLines, FileWriter
from flowno_nodes.connectors import files


def open_files_for(path: Path) -> list[str]:
    """File descriptors of this process that point at ``path`` (Linux /proc)."""
    target = str(path.resolve())
    found: list[str] = []
    if not os.path.isdir("/proc/self/fd"):
        return found
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == target:
                found.append(fd)
        except OSError:
            pass
    return found


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux /proc")


@node(stream_in=["lines"])
async def Collect(lines: Stream[str]) -> list[str]:
    return [line async for line in lines]


@node(stream_in=["lines"])
async def Shout(lines: Stream[str]):  # type: ignore[no-untyped-def]
    async for line in lines:
        yield line.upper() + "\n"


def test_lines_are_streamed_without_their_endings(tmp_path: Path):
    source = tmp_path / "in.txt"
    source.write_bytes(b"one\ntwo\r\nthree\rfour\n\nlast without newline")
    with FlowHDL() as f:
        f.lines = FileLines(source)
        f.seen = Collect(f.lines)
    f.run_until_complete()
    assert f.seen.get_data() == (["one", "two", "three", "four", "", "last without newline"],)
    assert f.lines.get_data() == (6,)  # the final value is the number of lines


def test_round_trip_copies_the_file_exactly(tmp_path: Path):
    source, copy = tmp_path / "in.txt", tmp_path / "copy.txt"
    content = "alpha\r\nbeta é\n\ngamma\rdelta".encode()
    source.write_bytes(content)
    with FlowHDL() as f:
        f.lines = FileLines(str(source), keep_ends=True)
        f.saved = FileWriter(copy, f.lines)
    f.run_until_complete()
    assert copy.read_bytes() == content
    assert f.saved.get_data() == (len(content),)


def test_large_file_round_trip_through_a_transform(tmp_path: Path):
    source, out = tmp_path / "big.txt", tmp_path / "out.txt"
    lines = [f"line {i:06d} " + "abcdefghij" * (i % 7) for i in range(60_000)]
    source.write_text("\n".join(lines) + "\n")
    assert source.stat().st_size > 2_000_000
    with FlowHDL() as f:
        f.lines = FileLines(source)
        f.loud = Shout(f.lines)
        f.saved = FileWriter(out, f.loud)
    threads = set(threading.enumerate())
    f.run_until_complete()
    assert set(threading.enumerate()) == threads  # the worker threads ended with the run
    assert open_files_for(source) == open_files_for(out) == []
    expected = "".join(line.upper() + "\n" for line in lines)
    assert out.read_text() == expected
    assert f.saved.get_data() == (len(expected.encode()),)
    assert f.lines.get_data() == (len(lines),)


def test_writer_back_pressure_with_chunks_bigger_than_the_high_water_mark(tmp_path: Path):
    out = tmp_path / "blocks.bin"
    block = bytes(range(256)) * 1024  # 256 KiB

    @node
    async def Blocks(n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield bytes([i]) + block

    with FlowHDL() as f:
        f.blocks = Blocks(3 * files.HIGH_WATER // len(block) + 5)
        f.saved = FileWriter(out, f.blocks)
    f.run_until_complete()
    count = 3 * files.HIGH_WATER // len(block) + 5
    data = out.read_bytes()
    assert len(data) == count * (len(block) + 1) == f.saved.get_data()[0]
    assert [data[i * (len(block) + 1)] for i in range(count)] == list(range(count))


def test_writer_appends_and_accepts_a_plain_value(tmp_path: Path):
    out = tmp_path / "log.txt"
    out.write_text("first\n")

    @node
    async def Line() -> str:
        return "second é\n"

    with FlowHDL() as f:
        f.line = Line()
        f.saved = FileWriter(out, f.line, append=True)
    f.run_until_complete()
    assert out.read_text() == "first\nsecond é\n"
    assert f.saved.get_data() == (len("second é\n".encode()),)


def test_writer_with_another_encoding(tmp_path: Path):
    out = tmp_path / "latin.txt"
    with FlowHDL() as f:
        f.saved = FileWriter(out, "café", "latin-1")  # type: ignore[arg-type]  # a plain value feeds a stream_in port
    f.run_until_complete()
    assert out.read_bytes() == b"caf\xe9"


@needs_proc
def test_cancelling_the_line_stream_closes_the_file(tmp_path: Path):
    source = tmp_path / "many.txt"
    source.write_text("".join(f"{i}\n" for i in range(10_000)))

    @node(stream_in=["lines"])
    async def Head(lines: Stream[str]) -> list[str]:
        head = []
        async for line in lines:
            head.append(line)
            if len(head) == 5:
                assert open_files_for(source) != []  # still reading
                await lines.cancel()
                break
        return head

    with FlowHDL() as f:
        f.lines = FileLines(source)
        f.head = Head(f.lines)
    f.run_until_complete()
    assert f.head.get_data() == (["0", "1", "2", "3", "4"],)
    assert f.lines.get_data() == (5,)
    assert open_files_for(source) == []


def test_missing_file_and_missing_directory(tmp_path: Path):
    missing = tmp_path / "nope.txt"
    with FlowHDL() as f:
        f.lines = FileLines(missing)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        f.run_until_complete()
    with FlowHDL() as f:
        f.saved = FileWriter(tmp_path / "no-dir" / "out.txt", "x")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="no-dir"):
        f.run_until_complete()


def test_undecodable_file_names_the_path(tmp_path: Path):
    source = tmp_path / "binary.dat"
    source.write_bytes(b"ok\n\xff\xfe\xfa broken\n")
    with FlowHDL() as f:
        f.lines = FileLines(source)
        f.seen = Collect(f.lines)
    with pytest.raises(UnicodeDecodeError) as caught:
        f.run_until_complete()
    assert any(str(source) in note for note in caught.value.__notes__)


def test_chunks_that_are_not_text(tmp_path: Path):
    @node
    async def Numbers():  # type: ignore[no-untyped-def]
        yield "1"
        yield 2

    out = tmp_path / "numbers.txt"
    with FlowHDL() as f:
        f.numbers = Numbers()
        f.saved = FileWriter(out, f.numbers)
    with pytest.raises(TypeError, match=r"FileWriter\(.*numbers.txt'\): the stream must carry str or bytes chunks, got int 2"):
        f.run_until_complete()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_write_error_is_raised_with_the_path():
    with FlowHDL() as f:
        f.saved = FileWriter("/dev/full", "no space for this")
    with pytest.raises(OSError) as caught:
        f.run_until_complete()
    assert any("/dev/full" in note for note in caught.value.__notes__)


def test_bad_path_type():
    with FlowHDL() as f:
        f.lines = FileLines(3.5)
    with pytest.raises(TypeError, match="FileLines: path must be a str or os.PathLike"):
        f.run_until_complete()
