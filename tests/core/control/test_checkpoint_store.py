"""The checkpoint stores: what load() returns after any saves, the bad inputs, and the node cache."""

from __future__ import annotations

import math
import re
import socket
import sqlite3
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowno_core._graph.control.checkpoint import (
    MISSING,
    CheckpointCorrupt,
    CheckpointError,
    CheckpointInUse,
    CheckpointMismatch,
    Entry,
    MemoryStore,
    Saved,
    SqliteStore,
    Store,
    UnloadableValue,
    UnpicklableValue,
)

from .helpers import assert_same

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

FINGERPRINT = "f" * 64
DESCRIPTION = "3 nodes (Produce, Double, Sink)\n#0 Produce\n#1 Double: in0 <- #0.out0\n#2 Sink: in0 <- #1.out0"
OTHER_FINGERPRINT = "0" * 64
OTHER_DESCRIPTION = (
    "4 nodes (Produce, Double, Triple, Sink)\n#0 Produce\n#1 Double: in0 <- #0.out0\n"
    "#2 Triple: in0 <- #1.out0\n#3 Sink: in0 <- #2.out0"
)

STORE_KINDS = ["memory", "sqlite"]


class Opened:
    """A store of one kind, opened for FINGERPRINT; ``reopen`` closes the file and opens it again."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind, self.path = kind, directory / "run.sqlite"
        self.store: Store = self._new()
        self.store.open(FINGERPRINT, DESCRIPTION)

    def _new(self) -> Store:
        return MemoryStore() if self.kind == "memory" else SqliteStore(self.path)

    def reopen(self) -> Store:
        """A new process would see this (a MemoryStore lives as long as the object: it stays)."""
        if self.kind == "sqlite":
            self.store.close()
            self.store = self._new()
            self.store.open(FINGERPRINT, DESCRIPTION)
        return self.store


@pytest.fixture(params=STORE_KINDS)
def opened(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opened]:
    handle = Opened(request.param, tmp_path)
    yield handle
    handle.store.close()


# --- any sequence of saves, then load() -------------------------------------------------------

plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)
outputs = st.none() | st.lists(plain_values, max_size=3).map(tuple)
generations = st.lists(st.integers(0, 2**40), min_size=1, max_size=3).map(tuple)
entries = st.builds(Entry, st.sampled_from(["n0", "n1", "n2"]) | st.text(max_size=6), st.text(max_size=6), generations, outputs)
operations = st.lists(
    st.tuples(st.just("save"), entries)
    | st.tuples(st.just("save_many"), st.lists(entries, max_size=4))
    | st.tuples(st.just("reopen"), st.none()),
    max_size=12,
)


@PROPERTY_SETTINGS
@given(st.sampled_from(STORE_KINDS), operations)
def test_load_after_any_saves_and_reopens_is_the_last_value_saved_per_key(kind, steps):
    with tempfile.TemporaryDirectory() as directory:
        handle = Opened(kind, Path(directory))
        model: dict[str, Saved] = {}
        for name, argument in steps:
            if name == "save":
                handle.store.save(*argument)
                batch = [argument]
            elif name == "save_many":
                handle.store.save_many(argument)
                batch = argument
            else:
                handle.reopen()
                batch = []
            model.update((entry.key, Saved(entry.node_label, entry.generation, entry.outputs)) for entry in batch)
        loaded = handle.reopen().load()
        handle.store.close()
    assert_same(loaded, model, "load()")


ROUND_TRIP_VALUES = [
    0, -1, 2**100, 1.5, -0.0, math.inf, -math.inf, math.nan, "", "héllo ✓", b"\x00\xff", (), (1, (2, (3,))),
    [1, [2, [3]]], {"a": [1, {"b": (2.5, None)}], "": b""}, None, True, frozenset({1, 2}), {3, 4}, 3 + 4j,
]


@pytest.mark.parametrize("value", ROUND_TRIP_VALUES, ids=repr)
def test_values_round_trip_exactly(opened, value):
    opened.store.save("n", "Node#0", (4,), (value, "second output"))
    assert_same(opened.reopen().load(), {"n": Saved("Node#0", (4,), (value, "second output"))})


def test_no_data_and_empty_outputs_are_different(opened):
    opened.store.save_many([Entry("none", "A#0", (0,), None), Entry("empty", "B#1", (0, 2), ())])
    assert_same(opened.reopen().load(), {"none": Saved("A#0", (0,), None), "empty": Saved("B#1", (0, 2), ())})


def test_a_saved_value_is_a_snapshot_and_a_loaded_one_a_copy(opened):
    published = [1, 2]
    opened.store.save("n", "Node#0", (0,), (published,))
    published.append(3)  # the node mutates what it published after the boundary
    restored = opened.reopen().load()["n"].outputs
    assert restored == ([1, 2],)
    restored[0].append(99)
    assert opened.store.load()["n"].outputs == ([1, 2],)


def test_only_the_latest_entry_per_key_is_kept_in_the_file(tmp_path):
    with SqliteStore(tmp_path / "run.sqlite") as store:
        store.open(FINGERPRINT, DESCRIPTION)
        for generation in range(50):
            store.save("n", "Node#0", (generation,), (generation,))
    with sqlite3.connect(tmp_path / "run.sqlite") as raw:
        assert raw.execute("SELECT key, generation FROM latest").fetchall() == [("n", "[49]")]


def test_the_file_is_wal_and_records_what_wrote_it(tmp_path):
    with SqliteStore(tmp_path / "run.sqlite") as store:
        store.open(FINGERPRINT, DESCRIPTION)
    with sqlite3.connect(tmp_path / "run.sqlite") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        meta = dict(raw.execute("SELECT name, value FROM meta"))
    assert meta.pop("schema_version") == "1"
    assert datetime.fromisoformat(meta.pop("created_at")).tzinfo is not None
    assert meta == {"fingerprint": FINGERPRINT, "description": DESCRIPTION}


# --- another flow's checkpoint ------------------------------------------------------------------


def test_a_file_written_by_another_flow_is_refused_and_kept(tmp_path):
    path = tmp_path / "run.sqlite"
    with SqliteStore(path) as store:
        store.open(FINGERPRINT, DESCRIPTION)
        store.save("n", "Double#1", (2,), (4,))
    with SqliteStore(path) as store:
        with pytest.raises(CheckpointMismatch) as caught:
            store.open(OTHER_FINGERPRINT, OTHER_DESCRIPTION)
        with pytest.raises(CheckpointError, match="not open"):
            store.load()
    message = str(caught.value)
    for part in [
        str(path), "another flow", "written for 3 nodes (Produce, Double, Sink)",
        "this flow has 4 nodes (Produce, Double, Triple, Sink)",
        "'#2 Sink: in0 <- #1.out0' where this flow has '#2 Triple: in0 <- #1.out0'",
        "Nothing was loaded", "delete the checkpoint file or pass another checkpoint path",
    ]:
        assert part in message
    assert caught.value.stored_fingerprint == FINGERPRINT and caught.value.fingerprint == OTHER_FINGERPRINT
    with SqliteStore(path) as store:
        store.open(FINGERPRINT, DESCRIPTION)
        assert store.load() == {"n": Saved("Double#1", (2,), (4,))}


def test_a_memory_store_refuses_another_flow_too():
    store = MemoryStore()
    store.open(FINGERPRINT, DESCRIPTION)
    store.save("n", "Double#1", (2,), (4,))
    with pytest.raises(CheckpointMismatch, match=r"MemoryStore holds the checkpoint of another flow.*new MemoryStore"):
        store.open(OTHER_FINGERPRINT, OTHER_DESCRIPTION)
    store.open(FINGERPRINT, "the same shape, described otherwise")  # the fingerprint decides
    assert store.load() == {"n": Saved("Double#1", (2,), (4,))}


def test_descriptions_that_agree_say_only_the_fingerprints_differ():
    store = MemoryStore()
    store.open(FINGERPRINT, DESCRIPTION)
    with pytest.raises(CheckpointMismatch, match="First difference: none in the descriptions"):
        store.open(OTHER_FINGERPRINT, DESCRIPTION)


# --- files that are not usable checkpoints --------------------------------------------------------


def test_a_file_that_is_not_a_database_is_corrupt_and_left_alone(tmp_path):
    path = tmp_path / "run.sqlite"
    garbage = b"this is not a database, just some bytes\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(CheckpointCorrupt, match="not a database") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value) and "To start afresh" in str(caught.value)
    assert path.read_bytes() == garbage


def test_a_database_with_another_schema_is_corrupt_and_left_alone(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (number INTEGER, total REAL)")
        raw.execute("INSERT INTO invoices VALUES (1, 9.5)")
    raw.close()
    before = path.read_bytes()
    with pytest.raises(CheckpointCorrupt, match=r"not a flowno_core checkpoint \(tables: invoices\)") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


def test_another_schema_version_is_corrupt(tmp_path):
    path = tmp_path / "run.sqlite"
    SqliteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    raw.close()
    with pytest.raises(CheckpointCorrupt, match="schema version 99; this flowno_core reads schema version 1"):
        SqliteStore(path)


def test_a_damaged_database_is_corrupt(tmp_path):
    path = tmp_path / "run.sqlite"
    with SqliteStore(path) as store:
        store.open(FINGERPRINT, DESCRIPTION)
        store.save_many([Entry(f"n{index}", f"Node#{index}", (index,), (b"x" * 3000,)) for index in range(20)])
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for page in range(1, len(data) // page_size):
        data[page * page_size : page * page_size + 100] = b"\xa5" * 100  # every page header but the first
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointCorrupt, match="damaged|malformed") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)


def test_a_stored_generation_that_is_not_one_is_corrupt(tmp_path):
    path = tmp_path / "run.sqlite"
    with SqliteStore(path) as store:
        store.open(FINGERPRINT, DESCRIPTION)
        store.save("n", "Node#0", (1,), (1,))
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE latest SET generation = '[1, \"x\"]'")
    raw.close()
    with SqliteStore(path) as store:
        store.open(FINGERPRINT, DESCRIPTION)
        with pytest.raises(CheckpointCorrupt, match=r"the generation stored for node key 'n' is not a generation"):
            store.load()


def test_a_file_open_in_another_store_is_in_use(tmp_path):
    path = tmp_path / "run.sqlite"
    with SqliteStore(path) as first:
        first.open(FINGERPRINT, DESCRIPTION)
        with pytest.raises(CheckpointInUse, match="in use by another run") as caught:
            SqliteStore(path)
        assert str(path) in str(caught.value)
    with SqliteStore(path) as second:  # closing released it
        second.open(FINGERPRINT, DESCRIPTION)


def test_a_path_that_cannot_be_opened_names_it(tmp_path):
    with pytest.raises(CheckpointError, match=f"checkpoint file {re.escape(str(tmp_path))}: unable to open"):
        SqliteStore(tmp_path)  # a directory


# --- values that cannot be pickled ----------------------------------------------------------------


def numbers() -> Iterator[int]:
    yield 1


@pytest.fixture
def open_socket() -> Iterator[socket.socket]:
    sock = socket.socket()
    yield sock
    sock.close()


UNPICKLABLE: dict[str, Callable[[Any], Any]] = {
    "function": lambda sock: lambda: None,
    "socket.socket": lambda sock: sock,
    "generator": lambda sock: numbers(),
}


@pytest.mark.parametrize("type_name", sorted(UNPICKLABLE))
def test_an_unpicklable_output_names_node_port_and_generation_and_saves_nothing(opened, open_socket, type_name):
    opened.store.save("n", "Double#1", (2,), ("before",))
    value = UNPICKLABLE[type_name](open_socket)
    with pytest.raises(UnpicklableValue) as caught:
        opened.store.save_many([Entry("m", "Sink#2", (3,), ("fine",)), Entry("n", "Double#1", (3,), ("ok", value))])
    error = caught.value
    assert (error.node_label, error.output_index, error.generation, error.value_type) == ("Double#1", 1, (3,), type(value))
    message = str(error)
    for part in ["output 1 of node Double#1 at generation (3,)", f"a {type_name} cannot be pickled", "Make the value picklable"]:
        assert part in message
    assert isinstance(error.__cause__, Exception)
    assert opened.reopen().load() == {"n": Saved("Double#1", (2,), ("before",))}


class Vanishing:
    """Pickled by reference to a module that is gone when the value is loaded."""


@pytest.fixture
def vanishing_module() -> Iterator[types.ModuleType]:
    module = types.ModuleType("ckpt_vanishing_module")
    module.Vanishing = Vanishing  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    Vanishing.__module__ = module.__name__
    yield module
    sys.modules.pop(module.__name__, None)
    Vanishing.__module__ = __name__


def test_a_value_that_cannot_be_unpickled_names_the_node(opened, vanishing_module):
    opened.store.save("n", "Parse#3", (7,), (Vanishing(),))
    del sys.modules[vanishing_module.__name__]
    with pytest.raises(UnloadableValue, match=r"node Parse#3 \(generation \(7,\)\).*ModuleNotFoundError.*renamed or moved"):
        opened.reopen().load()


# --- the store's lifecycle ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_a_store_must_be_opened_first(kind, tmp_path):
    store = MemoryStore() if kind == "memory" else SqliteStore(tmp_path / "run.sqlite")
    with store:
        for use in [store.load, lambda: store.save("n", "N#0", (0,), None), lambda: store.cache_get("k")]:
            with pytest.raises(CheckpointError, match=r"not open: call open\(fingerprint, description\)"):
                use()


def test_a_closed_store_cannot_be_used(opened):
    opened.store.close()
    opened.store.close()  # closing twice is harmless
    for use in [opened.store.load, lambda: opened.store.open(FINGERPRINT, DESCRIPTION)]:
        with pytest.raises(CheckpointError, match="is closed"):
            use()


def test_saving_nothing_commits_nothing(opened):
    opened.store.save_many([])
    assert opened.reopen().load() == {}


# --- the node cache -------------------------------------------------------------------------------


def test_the_cache_returns_what_was_put_and_missing_otherwise(opened):
    assert opened.store.cache_get("k") is MISSING
    assert opened.store.cache_put("k", (1, [2, 3])) is True
    assert opened.store.cache_put("no data", None) is True
    store = opened.reopen()
    assert store.cache_get("k") == (1, [2, 3])
    assert store.cache_get("no data") is None
    assert store.cache_get("other") is MISSING


def test_a_cached_value_is_a_copy(opened):
    value = [1]
    opened.store.cache_put("k", (value,))
    value.append(2)
    hit = opened.store.cache_get("k")
    assert hit == ([1],)
    assert isinstance(hit, tuple)
    hit[0].append(3)
    assert opened.store.cache_get("k") == ([1],)


def test_an_unpicklable_output_is_not_cached(opened, open_socket):
    assert opened.store.cache_put("k", (1, open_socket)) is False
    assert opened.store.cache_get("k") is MISSING


def test_a_cached_value_that_cannot_be_unpickled_is_a_miss(opened, vanishing_module):
    opened.store.cache_put("k", (Vanishing(),))
    del sys.modules[vanishing_module.__name__]
    assert opened.reopen().cache_get("k") is MISSING

