"""Checkpoints of a running flow: save what nodes publish, and resume a run in a new process.

Theory of operation: ``run_until_complete(checkpoint=...)`` gives the run a ``Checkpointer`` over a
``Store`` (``control.checkpoint``: a file path opens a ``SqliteStore``). Opening checks the flow's
graph fingerprint against the one the store recorded, so a checkpoint never loads into another
flow.

Saving: every final value a node publishes (its generation boundary) marks the node *dirty*; the
first mark of a round asks the loop to ``flush`` once the tasks that are ready have stepped. A flush
commits, in one transaction, each dirty node's generation and outputs and the feedback offsets
(SPEC §2.8) of its own ports and of its consumers' ports (publishing moves both). What a flush
commits is therefore the flow's published state at one moment of the run: a state the run really
passed through. A SIGKILL loses at most the values published since the last flush; they are
recomputed from committed ones. The run's end flushes whatever is left, however the run ended.

Resuming: a flow that has not run yet in this process, given a checkpoint that holds values,
takes them as its nodes' data and offsets, and the run continues from there instead of starting
afresh: it wants the nodes that have work left (never evaluated, or an input with a newer value
than they consumed), and the scheduler resolves the rest as in any continuation. A checkpoint of a
run that completed leaves nothing to do. Chunks of a lap in progress are not saved: a stream cut by
the kill starts that lap again. Attributes of class-based nodes are not saved either.
"""

from __future__ import annotations

import os
from typing import Any

from ..control.checkpoint import Entry, MemoryStore, SqliteStore, Store
from ..control.keys import graph_fingerprint, describe_graph
from ..rules.lifecycle import RunEvent
from .records import NodeState, observe, unobserve
from .run import Run


def open_store(checkpoint: Any) -> tuple[Store, bool]:
    """The store ``checkpoint`` names, and whether the run owns it (closes it when it ends)."""
    if isinstance(checkpoint, (str, os.PathLike)):
        return SqliteStore(checkpoint), True
    if all(callable(getattr(checkpoint, name, None)) for name in ("open", "load", "save_many", "cache_get", "cache_put")):
        return checkpoint, False
    raise TypeError(
        f"checkpoint={checkpoint!r}: give a file path (an SQLite checkpoint file, created if missing) "
        "or a Store such as flowno_core.MemoryStore()"
    )


def cache_store() -> Store:
    """The store of a flow's node cache when its runs have no checkpoint (lives as long as the flow)."""
    store = MemoryStore()
    store.open("node cache", "the node cache of one flow")
    return store


class Checkpointer:
    """Saves one flow's published values into a store during a run (see the module docstring)."""

    def __init__(self, run: Run, states: list[NodeState], store: Store, owns_store: bool) -> None:
        self.run = run
        self.states = states
        self.store = store
        self.owns_store = owns_store
        self.index = {state: index for index, state in enumerate(states)}
        self.dirty: dict[NodeState, None] = {}
        self.flush_pending = False
        self.failure: Exception | None = None
        shapes = [
            (type(state.draft).__qualname__, [(c.port_index, self.index[c.producer], c.output_index) for c in state.inputs])
            for state in states
        ]
        store.open(graph_fingerprint(shapes), describe_graph(shapes))
        for state in states:
            observe(state, self.published)

    # ------------------------------------------------------------------ resuming
    def restore(self) -> list[NodeState]:
        """Take the saved values as the nodes' data; returns the nodes with work left, in flow order."""
        saved = self.store.load()
        if not saved:
            return []
        for index, state in enumerate(self.states):
            value = saved.get(_value_key(index))
            if value is not None:
                data = state.data
                data.gen = data.final_gen = value.generation
                data.final = value.outputs
                data.chunk = None
            offsets = saved.get(_offsets_key(index))
            if offsets is not None and offsets.outputs is not None:
                for port, offset in zip(state.ports, offsets.outputs):
                    port.stitch_level_0 = offset
        return [state for state in self.states if _has_work_left(state)]

    # ------------------------------------------------------------------ saving
    def published(self, state: NodeState, data: Any, run_level: int) -> None:
        """``state`` published a value (observer): a final value is committed with the next flush."""
        if run_level:
            return  # (chunks are not saved)
        self.dirty[state] = None
        if not self.flush_pending:
            self.flush_pending = True
            self.run.loop.call_later(0.0, self.flush_in_run)  # (due at once: after the ready tasks step)

    def flush_in_run(self) -> None:
        """The loop's callback: a failure to save (an unpicklable value) ends the run, named."""
        try:
            self.flush()
        except Exception as error:  # noqa: BLE001 - the run's error, raised by run_until_complete
            if not self.run.end(RunEvent.FAIL, error):
                self.failure = error  # the run had ended meanwhile: raised when it closes

    def flush(self) -> None:
        """Commit every dirty node's value and the offsets its publishing moved, in one transaction."""
        self.flush_pending = False
        if not self.dirty:
            return
        touched: dict[NodeState, None] = {}
        for state in self.dirty:
            touched[state] = None
            for conn in state.outputs:
                touched[conn.consumer] = None
        entries = []
        for state in touched:
            index = self.index[state]
            label = repr(state.node)
            generation = state.data.final_gen
            if generation is None:
                continue
            if state in self.dirty:
                entries.append(Entry(_value_key(index), label, generation, state.data.final))
            entries.append(Entry(_offsets_key(index), label, generation, tuple(p.stitch_level_0 for p in state.ports)))
        self.dirty.clear()
        self.store.save_many(entries)

    def close(self) -> None:
        """The run ended: commit what is left, and close the store if the run opened it."""
        for state in self.states:
            unobserve(state, self.published)
        try:
            self.flush()
            if self.failure is not None:
                raise self.failure
        finally:
            if self.owns_store:
                self.store.close()


def _has_work_left(state: NodeState) -> bool:
    """Never evaluated, or an input holds a value newer than the node consumed."""
    if state.data.gen is None:
        return True
    return any(not conn.is_stale() for conn in state.inputs)


def _value_key(index: int) -> str:
    return f"node {index}"


def _offsets_key(index: int) -> str:
    return f"offsets {index}"
