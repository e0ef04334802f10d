"""SIGKILL at a random moment loses no committed generation and leaves a usable file.

A child process saves generations 0, 1, 2, ... (resuming after the last one the file holds) and
prints each generation once ``save``/``save_many`` has returned. The parent reads a seeded random
number of lines, kills the child with SIGKILL, collects what else it printed, and reopens the file:
it must hold exactly the state after generation G, the last one printed or the one after it (the
generation in flight may have committed just before the kill). Five rounds on the same file, for both synchronous settings.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from flowno_core._graph.control.checkpoint import Saved, SqliteStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

ROUNDS = 5
FINGERPRINT, DESCRIPTION = "c" * 64, "a counting flow"

CHILD = """
import sys
from flowno_core._graph.control.checkpoint import Entry, SqliteStore

store = SqliteStore(sys.argv[1], synchronous=sys.argv[2])
store.open(sys.argv[3], sys.argv[4])
generation = max((saved.generation[0] for saved in store.load().values()), default=-1) + 1
print("start", generation, flush=True)
while True:
    key = f"n{generation % 3}"
    value = (generation, "x" * (generation % 50))
    if generation % 2:
        store.save(key, key.upper(), (generation,), value)
    else:
        store.save_many([Entry(key, key.upper(), (generation,), value), Entry("even", "Even", (generation,), None)])
    print(generation, flush=True)
    generation += 1
"""


def expected_state(last: int) -> dict[str, Saved]:
    """What the file holds once generations 0..last are committed."""
    state: dict[str, Saved] = {}
    for generation in range(last + 1):
        key = f"n{generation % 3}"
        state[key] = Saved(key.upper(), (generation,), (generation, "x" * (generation % 50)))
        if generation % 2 == 0:
            state["even"] = Saved("Even", (generation,), None)
    return state


def read_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait()
        assert child.stderr is not None
        raise AssertionError(f"the child ended (status {child.returncode}): {child.stderr.read()}")
    return line


def run_and_kill(path: Path, synchronous: str, lines: int) -> tuple[int, int]:
    """Start the child, read ``lines`` generations, SIGKILL it: (its first generation, the last it printed)."""
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), synchronous, FINGERPRINT, DESCRIPTION],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        try:
            start = int(read_line(child).split()[1])
            printed = [int(read_line(child)) for _ in range(lines)]
        finally:
            child.kill()  # SIGKILL; nothing if read_line already found the child ended
            child.wait()
        unread = child.stdout.read()  # printed between our last read and the kill
        # a line cut short by the kill is not counted: its generation may be the one in flight
        printed += [int(line) for line in unread.splitlines(keepends=True) if line.endswith("\n")]
        assert child.returncode == -signal.SIGKILL, (
            f"the child ended by itself (status {child.returncode}) before the kill: {child.stderr.read()}"
        )
    assert printed == list(range(start, start + len(printed))), f"the child skipped a generation: {printed}"
    return start, printed[-1]


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_sigkill_loses_no_committed_generation(tmp_path, synchronous):
    path = tmp_path / "run.sqlite"
    chooser = random.Random(f"sigkill {synchronous}")
    committed = -1
    for _ in range(ROUNDS):
        start, last_printed = run_and_kill(path, synchronous, lines=chooser.randint(1, 40))
        assert start == committed + 1, f"the child resumed at generation {start}, not right after {committed}"
        with SqliteStore(path) as store:
            store.open(FINGERPRINT, DESCRIPTION)
            saved = store.load()
        committed = max(entry.generation[0] for entry in saved.values())
        assert committed in (last_printed, last_printed + 1), (
            f"the file holds generation {committed}; the child had committed {last_printed} (or one more)"
        )
        assert saved == expected_state(committed)
