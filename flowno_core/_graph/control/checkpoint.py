"""Durable storage of node values: checkpoints and the node cache (issue 13).

Theory of operation: a store keeps three things. (1) Its identity: the graph fingerprint and the
human-readable description of the flow that first opened it (``open``); every later ``open`` must
bring the same fingerprint or gets ``CheckpointMismatch``, so a checkpoint is never loaded into
another flow. (2) The latest committed value of each node, keyed by a string the runtime chooses:
the generation and the output tuple (``None``: the node published "no data"). Only the latest entry
per key is kept (an upsert), so a long run does not grow the file. (3) The node cache: outputs by
cache key (see ``keys.cache_key``).

Values are pickled when they are saved, one pickle per output, so an output that cannot be pickled
is reported with its node, output index and generation (``UnpicklableValue``) before anything is
written. ``save_many`` pickles every entry first and then commits them in one transaction: a
generation boundary that touches several nodes is stored all or nothing. When ``save`` returns, the
commit has happened.

``SqliteStore`` is one SQLite file (stdlib ``sqlite3``): ``journal_mode=WAL``, one transaction per
``save``/``save_many``, ``synchronous=FULL`` by default. With WAL, a commit appends the transaction
to the ``-wal`` file with ``write()`` before it returns; the operating system keeps those bytes when
the process dies, so even ``synchronous=NORMAL`` survives SIGKILL (process death) and loses
nothing committed. FULL also ``fsync``s the WAL at every commit, so committed generations survive
an operating-system crash or a power loss as well; that costs one fsync per generation boundary
(not per node: a boundary is one ``save_many``). ``synchronous="NORMAL"`` is the choice for runs
that only need to survive the process being killed. The file is opened with
``locking_mode=EXCLUSIVE``: while a store has it open, another process gets ``CheckpointInUse``
instead of two runs writing into one checkpoint. The schema is versioned (table ``meta``: schema
version, fingerprint, description, creation time); a file that is not an SQLite database, fails
SQLite's ``quick_check`` or holds other tables raises ``CheckpointCorrupt`` naming the file, and is
not modified.

``MemoryStore`` is the same contract in a process's memory. It pickles too, on purpose: a
checkpoint is a snapshot, and a node may still mutate a list after publishing it, so keeping
references would let the "saved" value change afterwards (wrong data on resume); ``load`` and
``cache_get`` unpickle fresh copies, so a consumer that mutates a restored value cannot alter the
store either. Pickling (rather than ``copy.deepcopy``) also makes the two stores accept and refuse
exactly the same values, so a flow tested with the memory store does not fail later on a file. The
cost is paid only when a store is used: the runtime should use none unless asked to.

Thread-safety: none. A store is used from one thread at a time; the runtime calls it from the event
loop's thread only (SQLite's same-thread check is off so that a store created in another thread can
be handed to the loop).
"""

from __future__ import annotations

import enum
import itertools
import json
import os
import pickle
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Final, Literal, NamedTuple, Protocol

#: a node's outputs as the runtime publishes them; None means "no data"
Outputs = tuple[Any, ...] | None
#: a generation as the runtime numbers it (never None once a node has run)
SavedGeneration = tuple[int, ...]

SCHEMA_VERSION: Final = 1
_TABLES: Final = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE latest (key TEXT PRIMARY KEY, node_label TEXT NOT NULL, generation TEXT NOT NULL, outputs BLOB)",
    "CREATE TABLE cache (key TEXT PRIMARY KEY, outputs BLOB)",
)
_TABLE_NAMES: Final = frozenset({"meta", "latest", "cache"})
_FRESH_START: Final = "To start afresh, delete the checkpoint file or pass another checkpoint path"


class CheckpointError(Exception):
    """A checkpoint cannot be used; the message says why and what to do about it."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint was written by another flow (its graph fingerprint differs)."""

    def __init__(self, where: str, stored: tuple[str, str], current: tuple[str, str]) -> None:
        self.where = where
        self.stored_fingerprint, self.stored_description = stored
        self.fingerprint, self.description = current
        old_lines, new_lines = self.stored_description.splitlines(), self.description.splitlines()
        super().__init__(
            f"{where} holds the checkpoint of another flow: it was written for {_first_line(old_lines)}; "
            f"this flow has {_first_line(new_lines)}. First difference: {_first_difference(old_lines[1:], new_lines[1:])} "
            f"(graph fingerprints {self.stored_fingerprint[:12]}... and {self.fingerprint[:12]}...). "
            f"Nothing was loaded. {_FRESH_START} (or use a new MemoryStore)."
        )


class CheckpointCorrupt(CheckpointError):
    """The file is not a flowno_core checkpoint, or it is damaged."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(f"checkpoint file {path} cannot be used: {problem}. {_FRESH_START}.")


class CheckpointInUse(CheckpointError):
    """Another store (in this or another process) has the checkpoint file open."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"checkpoint file {path} is in use by another run (a store keeps its file locked while it is open); "
            "wait for that run to finish, or pass another checkpoint path"
        )


class UnpicklableValue(CheckpointError):
    """A node's output cannot be pickled, so it cannot be checkpointed."""

    def __init__(
        self, node_label: str, output_index: int, generation: SavedGeneration, value: Any, error: Exception
    ) -> None:
        self.node_label, self.output_index, self.generation = node_label, output_index, generation
        self.value_type = type(value)
        super().__init__(
            f"cannot checkpoint output {output_index} of node {node_label} at generation {generation}: "
            f"a {_type_name(self.value_type)} cannot be pickled ({type(error).__name__}: {error}). Nothing was saved. "
            "Make the value picklable (plain data, or a class with __getstate__/__reduce__), or run this flow "
            "without a checkpoint."
        )


class UnloadableValue(CheckpointError):
    """A stored value cannot be unpickled in this process."""

    def __init__(self, where: str, node_label: str, generation: SavedGeneration, error: Exception) -> None:
        self.node_label, self.generation = node_label, generation
        super().__init__(
            f"cannot restore the checkpointed value of node {node_label} (generation {generation}) from {where}: "
            f"{type(error).__name__}: {error}. Its class may have been renamed or moved since it was saved: "
            f"put it back where it was. {_FRESH_START}."
        )


class Missing(enum.Enum):
    """The type of ``MISSING``."""

    MISSING = "MISSING"


#: what ``cache_get`` returns for a key it does not hold (None is a stored "no data")
MISSING: Final = Missing.MISSING


@dataclass(frozen=True, slots=True)
class Saved:
    """A node's latest committed value: its generation and outputs (None: "no data")."""

    node_label: str
    generation: SavedGeneration
    outputs: Outputs


class Entry(NamedTuple):
    """One node's value to commit (an item of ``save_many``)."""

    key: str
    node_label: str
    generation: SavedGeneration
    outputs: Outputs


class Store(Protocol):
    """What the runtime needs from a checkpoint store; ``MemoryStore`` and ``SqliteStore`` are two.

    Call ``open`` first. Called from the event loop's thread only.
    """

    def open(self, fingerprint: str, description: str) -> None:
        """Record the flow's identity on first use; later, raise CheckpointMismatch unless it is the same."""

    def load(self) -> dict[str, Saved]:
        """The latest committed value of every node key."""

    def save(self, key: str, node_label: str, generation: SavedGeneration, outputs: Outputs) -> None:
        """Commit one node's value (durable when this returns)."""

    def save_many(self, entries: Iterable[Entry]) -> None:
        """Commit several nodes' values in one transaction: all or nothing."""

    def cache_get(self, key: str) -> Outputs | Missing:
        """The cached outputs under ``key``, or MISSING."""

    def cache_put(self, key: str, outputs: Outputs) -> bool:
        """Cache ``outputs`` under ``key``; False (nothing stored) when an output cannot be pickled."""

    def close(self) -> None:
        """Release the store; it cannot be used afterwards."""


class _Pickled(NamedTuple):
    """An entry with its outputs pickled (what both stores keep)."""

    key: str
    node_label: str
    generation: SavedGeneration
    blob: bytes | None


class MemoryStore:
    """The in-memory store: the checkpoint lives as long as this object (see the module docstring).

    Example::

        store = MemoryStore()
        first.run_until_complete(checkpoint=store)    # a flow saves its values as it runs
        again.run_until_complete(checkpoint=store)    # a new flow of the same shape goes on from them
    """

    where: Final = "MemoryStore"

    def __init__(self) -> None:
        self._identity: tuple[str, str] | None = None
        self._closed = False
        self._latest: dict[str, _Pickled] = {}
        self._cache: dict[str, bytes | None] = {}

    def open(self, fingerprint: str, description: str) -> None:
        _check_not_closed(self.where, self._closed)
        if self._identity is None:
            self._identity = (fingerprint, description)
        _check_identity(self.where, self._identity, (fingerprint, description))

    def load(self) -> dict[str, Saved]:
        self._check_usable()
        return {key: _unpickled(self.where, row) for key, row in self._latest.items()}

    def save(self, key: str, node_label: str, generation: SavedGeneration, outputs: Outputs) -> None:
        self.save_many([Entry(key, node_label, generation, outputs)])

    def save_many(self, entries: Iterable[Entry]) -> None:
        self._check_usable()
        for row in [_pickled(entry) for entry in entries]:
            self._latest[row.key] = row

    def cache_get(self, key: str) -> Outputs | Missing:
        self._check_usable()
        return _cached_outputs(self._cache[key]) if key in self._cache else MISSING

    def cache_put(self, key: str, outputs: Outputs) -> bool:
        self._check_usable()
        try:
            self._cache[key] = _pickled_outputs(outputs)
        except _OutputNotPicklable:
            return False
        return True

    def close(self) -> None:
        self._closed = True
        self._latest.clear()
        self._cache.clear()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _check_usable(self) -> None:
        _check_not_closed(self.where, self._closed)
        _check_opened(self.where, self._identity is not None)


class SqliteStore:
    """A checkpoint in one SQLite file (see the module docstring for durability and locking).

    Opening checks the file at once: CheckpointCorrupt, CheckpointInUse or CheckpointError.
    ``run_until_complete(checkpoint="run.sqlite")`` makes one (and closes it when the run ends).

    Example::

        f.run_until_complete(checkpoint=SqliteStore("run.sqlite", synchronous="NORMAL"))
    """

    def __init__(self, path: str | os.PathLike[str], *, synchronous: Literal["FULL", "NORMAL"] = "FULL") -> None:
        self.path = self.where = os.fspath(path)
        self._opened = False
        self._closed = False
        with _sqlite_errors(self.path):
            self._connection = sqlite3.connect(self.path, isolation_level=None, timeout=0, check_same_thread=False)
        try:
            self._prepare(synchronous)
        except BaseException:
            self._connection.close()
            raise

    def open(self, fingerprint: str, description: str) -> None:
        _check_not_closed(self.where, self._closed)
        with self._transaction() as db:
            stored = dict(db.execute("SELECT name, value FROM meta WHERE name IN ('fingerprint', 'description')").fetchall())
            if not stored:
                stored = {"fingerprint": fingerprint, "description": description}
                db.executemany("INSERT INTO meta VALUES (?, ?)", stored.items())
        _check_identity(self.where, (stored["fingerprint"], stored["description"]), (fingerprint, description))
        self._opened = True

    def load(self) -> dict[str, Saved]:
        self._check_usable()
        with _sqlite_errors(self.path):
            rows = self._connection.execute("SELECT key, node_label, generation, outputs FROM latest").fetchall()
        return {
            key: _unpickled(self.where, _Pickled(key, label, _parsed_generation(self.path, key, text), blob))
            for key, label, text, blob in rows
        }

    def save(self, key: str, node_label: str, generation: SavedGeneration, outputs: Outputs) -> None:
        self.save_many([Entry(key, node_label, generation, outputs)])

    def save_many(self, entries: Iterable[Entry]) -> None:
        self._check_usable()
        rows = [(row.key, row.node_label, json.dumps(row.generation), row.blob) for row in map(_pickled, entries)]
        if not rows:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO latest VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "node_label = excluded.node_label, generation = excluded.generation, outputs = excluded.outputs",
                rows,
            )

    def cache_get(self, key: str) -> Outputs | Missing:
        self._check_usable()
        with _sqlite_errors(self.path):
            row = self._connection.execute("SELECT outputs FROM cache WHERE key = ?", (key,)).fetchone()
        return MISSING if row is None else _cached_outputs(row[0])

    def cache_put(self, key: str, outputs: Outputs) -> bool:
        self._check_usable()
        try:
            blob = _pickled_outputs(outputs)
        except _OutputNotPicklable:
            return False
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?)", (key, blob))
        return True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._connection.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _prepare(self, synchronous: str) -> None:
        """Lock the file, check it (before changing anything in it), then switch to WAL and create the schema."""
        with _sqlite_errors(self.path):
            db = self._connection
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables:
                self._check_schema(tables)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={synchronous}")
        if not tables:
            self._create_schema()

    def _check_schema(self, tables: set[str]) -> None:
        if tables != _TABLE_NAMES:
            names = ", ".join(sorted(tables))
            raise CheckpointCorrupt(self.path, f"it is an SQLite database but not a flowno_core checkpoint (tables: {names})")
        problems = [problem for (problem,) in self._connection.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise CheckpointCorrupt(self.path, f"the database is damaged ({'; '.join(problems[:3])})")
        version = self._connection.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if version != (str(SCHEMA_VERSION),):
            found = "no schema version" if version is None else f"schema version {version[0]}"
            raise CheckpointCorrupt(self.path, f"it has {found}; this flowno_core reads schema version {SCHEMA_VERSION}")

    def _create_schema(self) -> None:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._transaction() as db:
            for statement in _TABLES:
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)", [("schema_version", str(SCHEMA_VERSION)), ("created_at", created)]
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with _sqlite_errors(self.path):
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def _check_usable(self) -> None:
        _check_not_closed(self.where, self._closed)
        _check_opened(self.where, self._opened)


@contextmanager
def _sqlite_errors(path: str) -> Iterator[None]:
    """Turn SQLite's errors into checkpoint errors that name the file."""
    try:
        yield
    except sqlite3.Error as error:
        name = getattr(error, "sqlite_errorname", None)
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            raise CheckpointInUse(path) from error
        if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            raise CheckpointCorrupt(path, f"{error} ({name})") from error
        hint = "check that its directory exists and is writable"
        raise CheckpointError(f"checkpoint file {path}: {error} ({name}); {hint}") from error


def _pickled(entry: Entry) -> _Pickled:
    try:
        blob = _pickled_outputs(entry.outputs)
    except _OutputNotPicklable as failure:
        label, generation = entry.node_label, entry.generation
        raise UnpicklableValue(label, failure.index, generation, failure.value, failure.error) from failure.error
    return _Pickled(entry.key, entry.node_label, tuple(entry.generation), blob)


class _OutputNotPicklable(Exception):
    """Output ``index`` (``value``) cannot be pickled; ``error`` is what pickle raised."""

    def __init__(self, index: int, value: Any, error: Exception) -> None:
        self.index, self.value, self.error = index, value, error


def _pickled_outputs(outputs: Outputs) -> bytes | None:
    """One pickle per output (so a failure names its output), kept together in one blob."""
    if outputs is None:
        return None
    return pickle.dumps(tuple(_pickled_output(index, value) for index, value in enumerate(outputs)), pickle.HIGHEST_PROTOCOL)


def _pickled_output(index: int, value: Any) -> bytes:
    try:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    except Exception as error:  # a value's own __reduce__ may raise anything
        raise _OutputNotPicklable(index, value, error) from error


def _unpickled(where: str, row: _Pickled) -> Saved:
    try:
        outputs = None if row.blob is None else _unpickled_outputs(row.blob)
    except Exception as error:  # unpickling can raise anything (a missing module, a class's own code)
        raise UnloadableValue(where, row.node_label, row.generation, error) from error
    return Saved(row.node_label, row.generation, outputs)


def _unpickled_outputs(blob: bytes) -> tuple[Any, ...]:
    return tuple(pickle.loads(output) for output in pickle.loads(blob))


def _cached_outputs(blob: bytes | None) -> Outputs | Missing:
    """A cache entry's outputs; one that cannot be unpickled any more is a miss (it is recomputed)."""
    try:
        return None if blob is None else _unpickled_outputs(blob)
    except Exception:
        return MISSING


def _parsed_generation(path: str, key: str, text: str) -> SavedGeneration:
    try:
        numbers = json.loads(text)
    except ValueError:
        numbers = None
    if not isinstance(numbers, list) or not all(type(number) is int for number in numbers):
        raise CheckpointCorrupt(path, f"the generation stored for node key {key!r} is not a generation: {text!r}")
    return tuple(numbers)


def _check_identity(where: str, stored: tuple[str, str], current: tuple[str, str]) -> None:
    """The fingerprint decides; the descriptions only explain a mismatch."""
    if stored[0] != current[0]:
        raise CheckpointMismatch(where, stored, current)


def _check_not_closed(where: str, closed: bool) -> None:
    if closed:
        raise CheckpointError(f"{where} is closed; create a new store to use the checkpoint again")


def _check_opened(where: str, opened: bool) -> None:
    if not opened:
        raise CheckpointError(f"{where} is not open: call open(fingerprint, description) before using it")


def _first_line(lines: Sequence[str]) -> str:
    return lines[0] if lines else "(no description)"


def _first_difference(old: Sequence[str], new: Sequence[str]) -> str:
    for old_line, new_line in itertools.zip_longest(old, new, fillvalue="(nothing)"):
        if old_line != new_line:
            return f"the checkpoint has {old_line!r} where this flow has {new_line!r}"
    return "none in the descriptions"


def _type_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
