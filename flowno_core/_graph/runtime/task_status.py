"""flowno's names for a node task's state, as ``FlowInstrument.on_node_status_change`` reports them.

Only an instrumented run needs them: ``Run`` imports this module on the first status change it
reports, and ``flowno_core.NodeTaskStatus`` is exported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..description.finalized import FinalizedInputPortRef
from ..rules.lifecycle import NodePhase

if TYPE_CHECKING:
    from .records import NodeState


class NodeTaskStatus:
    """flowno's node task states, as seen by ``on_node_status_change``."""

    @dataclass(frozen=True)
    class Queued:
        """Scheduled to start an evaluation."""

    @dataclass(frozen=True)
    class Executing:
        """Running (or awaiting something inside) an evaluation."""

    @dataclass(frozen=True)
    class WaitingForStartNextGeneration:
        """Idle: -1 never ran, 0 after a full evaluation, 1 a generator paused between chunks."""

        run_level: int

    @dataclass(frozen=True)
    class Error:
        """The node failed in this run."""

    @dataclass(frozen=True)
    class Stalled:
        """A streaming consumer waiting for the next chunk on ``stalling_input``."""

        stalling_input: FinalizedInputPortRef[Any]

    Type = Queued | Executing | WaitingForStartNextGeneration | Error | Stalled


_QUEUED = NodeTaskStatus.Queued()
_EXECUTING = NodeTaskStatus.Executing()
_PAUSED = NodeTaskStatus.WaitingForStartNextGeneration(1)
_ERROR = NodeTaskStatus.Error()


def public_status(state: NodeState, phase: NodePhase) -> Any:
    """What flowno would call ``state``'s task status in ``phase``."""
    if phase is NodePhase.SCHEDULED:
        return _QUEUED
    if phase is NodePhase.PAUSED or phase is NodePhase.HELD:
        return _PAUSED
    if phase is NodePhase.FAILED:
        return _ERROR
    if phase is NodePhase.STALLED and state.stalled_on is not None:
        return NodeTaskStatus.Stalled(state.node.input(state.stalled_on.port_index))
    if phase is NodePhase.RUNNING or phase is NodePhase.BARRIER or phase is NodePhase.STALLED:
        return _EXECUTING
    return NodeTaskStatus.WaitingForStartNextGeneration(-1 if state.data.gen is None else 0)
