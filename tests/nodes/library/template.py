"""The shared test template of the node library: one operator, five ways its input can behave.

``run_case(case, mode)`` builds ``Source -> operator -> Sink`` in virtual time and checks what the
sink got against the case's reference model, then checks the clean-up: every helper task the
operator started has ended before the task that started it, and every source's ``finally`` block ran.

Modes (how the source streams ``case.items``):

* ``fast``: all items at once (no waiting between them);
* ``slow``: one item per virtual second;
* ``empty``: no items at all;
* ``erroring``: three items, then the source raises ``SourceFailed``: the run must raise it
  (unless the operator stops reading before, like ``take(3)``). The run then ends at once and
  cancels every task; a node cancelled just as it starts a helper may not get the helper's handle,
  so here the check is only that no helper outlives the run;
* ``cancelled``: the sink cancels its stream after two items: the operator must stop, and a
  streaming operator must stop its source before the source ran out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from flowno_core import EventLoopInstrument, FlowHDL, Stream, VirtualClock, current_event_loop, node, sleep

MODES = ["fast", "slow", "empty", "erroring", "cancelled"]
ITEMS = list(range(1, 11))
FAILS_AFTER = 3  # items an erroring source yields before it raises


class SourceFailed(Exception):
    """What an erroring source raises."""


@dataclass(frozen=True)
class Case:
    """One operator under the template.

    ``wire(source, extra)`` connects the operator to ``source`` and returns its node; ``extra(items)``
    makes another source node behaving in the same mode (for operators with several inputs).
    ``model(items, slow)`` is the reference: what the sink must receive, as a list (an aggregate's
    one value is a one-item list); ``slow`` is true when items come one per second.
    ``times(items, slow)``, if given, is the virtual times at which the sink must receive them.
    """

    id: str
    wire: Callable[[Any, Callable[[list[Any]], Any]], Any]
    model: Callable[[list[Any], bool], list[Any]]
    items: list[Any] = field(default_factory=lambda: list(ITEMS))
    cancel_stops_source: bool = True  # cancelling its output must stop the source early (it streams)
    unordered: bool = False  # compare as multisets (items of several sources interleave)
    times: Callable[[list[Any], bool], list[float]] | None = None
    stops_after: int | None = None  # the operator reads at most this many items
    check: Callable[[list[Any], list[Any]], None] | None = None  # (received, items): instead of the model

    def __repr__(self) -> str:
        return self.id


class HelperTasks(EventLoopInstrument):
    """Tracks the tasks started inside node code: each must end before the task that started it
    (a node's task ends when the run ends; a helper still running then was left behind)."""

    def __init__(self) -> None:
        super().__init__()
        self.children: dict[Any, set[Any]] = {}
        self.left_behind: set[Any] = set()
        self.alive: set[Any] = set()

    def on_task_spawned(self, task: Any, parent: Any) -> None:
        if parent is not None and not getattr(task, "__qualname__", "").startswith(("Evaluator.", "Flow.")):
            self.children.setdefault(parent, set()).add(task)
            self.alive.add(task)

    def _ended(self, task: Any) -> None:
        self.alive.discard(task)
        self.left_behind |= self.children.pop(task, set())
        for children in self.children.values():
            children.discard(task)

    def on_task_completed(self, task: Any, result: Any) -> None:
        self._ended(task)

    def on_task_error(self, task: Any, exception: BaseException) -> None:
        self._ended(task)

    def on_task_cancelled(self, task: Any, exception: BaseException) -> None:
        self._ended(task)


@dataclass
class Outcome:
    received: list[Any]
    times: list[float]
    error: BaseException | None
    sources: dict[str, str]  # source tag -> "finished" | "stopped" | "failed"
    left_behind: set[Any]  # helpers that ended after the task that started them
    alive: set[Any]  # helpers still running after the run


def run_case(case: Case, mode: str) -> Outcome:
    items = [] if mode == "empty" else case.items
    slow = mode == "slow"
    sources: dict[str, str] = {}
    received: list[Any] = []
    times: list[float] = []

    @node
    async def Source(tag: str, values: list[Any]):
        sources[tag] = "running"
        try:
            for index, value in enumerate(values):
                if mode == "erroring" and index == FAILS_AFTER:
                    sources[tag] = "failed"
                    raise SourceFailed(f"{tag} failed after {FAILS_AFTER} items")
                if slow:
                    await sleep(1.0)
                yield value
            sources[tag] = "finished"
        finally:
            if sources[tag] == "running":
                sources[tag] = "stopped"

    @node(stream_in=["outputs"])
    async def Sink(outputs: Stream[Any]) -> int:
        async for output in outputs:
            received.append(output)
            times.append(current_event_loop().time())
            if mode == "cancelled" and len(received) == 2:
                await outputs.cancel()
        return len(received)

    counter = iter(range(1, 100))
    f = FlowHDL(clock=VirtualClock())
    with f:
        def extra(values: list[Any]) -> Any:
            return Source(f"extra{next(counter)}", [] if mode == "empty" else values)

        f.source = Source("main", items)
        f.operator = case.wire(f.source, extra)
        f.sink = Sink(f.operator)
    helpers = HelperTasks()
    error: BaseException | None = None
    with helpers:
        try:
            f.run_until_complete()
        except Exception as caught:  # noqa: BLE001 - checked by the caller
            error = caught
    return Outcome(received, times, error, sources, helpers.left_behind, helpers.alive)


def check_case(case: Case, mode: str) -> Outcome:
    """Run ``case`` in ``mode`` and check results and clean-up."""
    outcome = run_case(case, mode)
    assert not outcome.alive, f"helper tasks outlived the run: {outcome.alive}"
    assert all(state != "running" for state in outcome.sources.values()), outcome.sources
    items = [] if mode == "empty" else case.items
    if mode == "erroring":
        if case.stops_after is None or case.stops_after > FAILS_AFTER:
            assert isinstance(outcome.error, SourceFailed), outcome.error
            assert "failed" in outcome.sources.values()
            return outcome
        items = items[:FAILS_AFTER]  # it stopped reading before the source failed
    assert not outcome.left_behind, f"helper tasks outlived the task that started them: {outcome.left_behind}"
    if outcome.error is not None:
        raise outcome.error
    if case.check is not None:
        received = outcome.received
        case.check(received, items)
        if mode == "cancelled":
            assert len(received) <= 2
        return outcome
    expected = case.model(items, mode == "slow")
    if mode == "cancelled":
        if case.cancel_stops_source and len(expected) > 2:
            assert "stopped" in outcome.sources.values(), f"cancelling did not stop the source: {outcome.sources}"
        if case.unordered:
            assert len(outcome.received) == min(2, len(expected))
            assert not Counter(map(repr, outcome.received)) - Counter(map(repr, expected))
            return outcome
        expected = expected[:2]
    if case.unordered:
        assert Counter(map(repr, outcome.received)) == Counter(map(repr, expected))
    else:
        assert outcome.received == expected
    if case.times is not None and mode in ("fast", "slow"):
        assert outcome.times == pytest.approx(case.times(items, mode == "slow"))
    return outcome
