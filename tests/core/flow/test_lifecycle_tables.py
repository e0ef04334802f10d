"""The lifecycle tables (rules/lifecycle.py): table-driven checks, random event sequences, and the
copy of the tables in docs/design.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowno_core._graph.rules.lifecycle import (
    LAP_TABLE,
    NODE_TABLE,
    RUN_TABLE,
    IllegalTransition,
    LapEvent,
    NodeEvent,
    NodePhase,
    Request,
    RunEvent,
    RunPhase,
    apply,
    defer,
    follow,
    render_all,
    take,
)

DESIGN = Path(__file__).resolve().parents[3] / "docs" / "design.md"


class Holder:
    """A stand-in for the runtime's node record: what ``apply`` needs (and a repr naming it)."""

    def __init__(self, phase: NodePhase = NodePhase.IDLE) -> None:
        self.phase = phase
        self.pending = Request.NONE

    def __repr__(self) -> str:
        return "Sensor#3"


class Tally:
    """A stand-in for the runtime's run: the counts ``apply`` keeps, and an observer."""

    def __init__(self, observer=None) -> None:
        self.busy = 0
        self.moves = 0
        self.observer = observer


EVERY_PAIR = [(phase, event) for phase in NodePhase for event in NodeEvent]


@pytest.mark.parametrize("phase, event", EVERY_PAIR, ids=[f"{p.name}-{e.name}" for p, e in EVERY_PAIR])
def test_apply_follows_the_table_or_refuses_naming_node_phase_and_event(phase, event):
    node, tally = Holder(phase), Tally()
    expected = NODE_TABLE[phase].get(event)
    if expected is None:
        with pytest.raises(IllegalTransition, match=rf"Sensor#3: event {event.name} is not allowed in phase {phase.name}"):
            apply(node, event, tally)
        assert node.phase is phase and (tally.busy, tally.moves) == (0, 0)  # a refused event changes nothing
    else:
        apply(node, event, tally)
        assert node.phase is expected
        assert (tally.busy, tally.moves) == (int(expected.busy) - int(phase.busy), 1)


def test_every_event_has_a_row_and_every_phase_is_reachable_from_idle():
    used = {event for row in NODE_TABLE.values() for event in row}
    assert used == set(NodeEvent)
    reached, frontier = {NodePhase.IDLE}, [NodePhase.IDLE]
    while frontier:
        for new in NODE_TABLE[frontier.pop()].values():
            if new not in reached:
                reached.add(new)
                frontier.append(new)
    assert reached == set(NodePhase)


def test_every_phase_leaves_a_run_idle_except_a_wait_for_upstream():
    for phase in NodePhase:
        assert NODE_TABLE[phase][NodeEvent.END_RUN] is (NodePhase.WAITING if phase is NodePhase.WAITING else NodePhase.IDLE)


def test_an_evaluation_is_busy_from_start_to_finish_and_only_then():
    busy = {phase for phase in NodePhase if phase.busy}
    assert busy == {
        NodePhase.SCHEDULED, NodePhase.RUNNING, NodePhase.STALLED, NodePhase.HELD, NodePhase.BARRIER, NodePhase.RETRYING
    }


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(list(NodeEvent)), max_size=40))
def test_random_event_sequences_follow_the_table_or_are_refused(events):
    node = Holder()
    observed: list[tuple[NodePhase, NodeEvent]] = []
    tally = Tally(lambda n, old, e: observed.append((old, e)))
    for event in events:
        before = node.phase
        try:
            apply(node, event, tally)
        except IllegalTransition:
            assert event not in NODE_TABLE[before]
            assert node.phase is before
            continue
        assert node.phase is NODE_TABLE[before][event]
        assert observed[-1] == (before, event)  # the observer hears of every move, once
        assert tally.busy == int(node.phase.busy)  # the busy count follows the phases exactly
    assert tally.moves == len(observed)


def test_pending_requests_wait_until_taken():
    node = Holder(NodePhase.RUNNING)
    defer(node, Request.WANT)
    defer(node, Request.MORE)
    assert take(node, Request.WANT) and not take(node, Request.WANT)
    assert take(node, Request.MORE)
    assert node.pending is Request.NONE


@pytest.mark.parametrize(
    "table, events, owner",
    [(LAP_TABLE, list(LapEvent), "the lap of Gen#0"), (RUN_TABLE, list(RunEvent), "the run of <Flow#1>")],
)
def test_lap_and_run_moves_follow_their_tables_or_are_refused(table, events, owner):
    for phase in table:
        for event in events:
            expected = table[phase].get(event)
            if expected is None:
                with pytest.raises(IllegalTransition, match=rf"{re.escape(owner)}: event {event.name} .* phase {phase.name}"):
                    follow(table, phase, event, owner)
            else:
                assert follow(table, phase, event, owner) is expected


def test_a_run_ends_in_exactly_one_way_and_can_start_again_from_each():
    endings = {RunEvent.QUIESCENT, RunEvent.LIMIT, RunEvent.FAIL, RunEvent.CANCEL, RunEvent.DEADLOCK}
    reached = {RUN_TABLE[RunPhase.RUNNING][event] for event in endings}
    assert len(reached) == 5
    for ending in reached:
        assert set(RUN_TABLE[ending]) == {RunEvent.START}  # no second ending, only a new run


def test_design_doc_holds_the_current_tables():
    text = DESIGN.read_text()
    match = re.search(r"<!-- lifecycle tables: begin -->\n(.*?)\n<!-- lifecycle tables: end -->", text, re.DOTALL)
    assert match, "docs/design.md lacks the lifecycle tables block"
    assert match.group(1).strip() == render_all().strip(), (
        "docs/design.md is out of date: replace the block between the lifecycle-table markers with "
        "what `python -c 'from flowno_core._graph.rules.lifecycle import render_all; print(render_all())'` prints"
    )
