"""One evaluation under a run-control policy: timeouts, retries, and failures that do not stop the run.

Theory of operation: a node whose ``Policy`` is not the default (``NodeState.policy``) is evaluated
here instead of on the plain path. Each attempt calls the node with the inputs gathered once for
the evaluation; ``timeout`` bounds the whole attempt (a hard limit, back-pressure pauses included)
and ``chunk_timeout`` each wait for a streamed chunk (``Evaluator.drive_generator``). A failed
attempt is retried (``RETRY`` -> ``RETRYING``, a sleep on the loop's clock, ``ATTEMPT``) when the
policy allows it, the error is one ``retry_on`` names, and the node has published nothing of the
evaluation yet (no chunk, no value waiting at the barrier): work others may have read is never
redone. With ``cache`` the inputs and the node function's code are hashed first
(``control.keys.cache_key``): outputs stored under that key (``Run.cache``, a ``Store``) are
published without calling the node (attempts stay 0), and a successful evaluation stores its
outputs. When the failure is final, ``on_error`` decides: ``"stop"`` goes to ``Endings.node_failed``
as for any node; ``"continue"`` and ``"skip"`` publish a ``Skipped`` marker instead of a value
(``DROP``), which skips the downstream of that generation (``rules.markers``).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..._kernel.traps import sleep_trap
from ..._timeouts import fail_after
from ...errors import NodeTimeoutError, SkipGeneration
from ..control.policy import Policy
from ..rules.generations import Generation, inc_generation
from ..rules.lifecycle import LapPhase, NodeEvent, NodePhase, RunPhase, apply
from ..rules.markers import Skipped
from .endings import add_failure_notes
from .records import NodeState
from .run import Run

logger = logging.getLogger("flowno_core.flow")


class Publisher(Protocol):
    """What this module needs of the evaluator."""

    run: Run

    async def _run_result(self, state: NodeState, result: Any) -> None: ...

    async def wait_for_level0_readers(self, state: NodeState, data: Any) -> None: ...

    def publish_final(self, state: NodeState, data: Any, streamed: bool = False) -> None: ...


async def evaluate(evaluator: Publisher, state: NodeState, args: list[Any], policy: Policy) -> None:
    """Attempt the evaluation until it succeeds or its failure is final (then raise the error)."""
    run = evaluator.run
    state.attempts = 0
    cache = run.cache if policy.cache else None
    key = None
    if cache is not None:
        from ..control.checkpoint import MISSING
        from ..control.keys import cache_key

        key = cache_key(type(state.draft).__wrapped__, tuple(args))  # (cache=True: a function node)
        if key is not None:
            outputs = cache.cache_get(key)
            if outputs is not MISSING:  # evaluated before with these inputs and this code
                await _publish(evaluator, state, outputs)
                return
    while True:
        state.attempts += 1
        try:
            await _attempt(evaluator, state, args, policy)
            if key is not None and not run.stopping:
                cache.cache_put(key, state.data.final)  # type: ignore[union-attr]
            return
        except Exception as error:  # noqa: BLE001 - sorted out below: retried, or raised for the caller
            if run.stopping or not _may_retry(state, policy, error):
                raise
            apply(state, NodeEvent.RETRY, run)
            await sleep_trap(policy.delay(state.attempts, error))
            if run.stopping:
                return
            apply(state, NodeEvent.ATTEMPT, run)


async def _attempt(evaluator: Publisher, state: NodeState, args: list[Any], policy: Policy) -> None:
    result = state.invoke(*args)
    limit = policy.timeout
    if limit is None:
        await evaluator._run_result(state, result)
        return
    scope = fail_after(limit)
    try:
        with scope:
            await evaluator._run_result(state, result)
    except TimeoutError as error:
        if not scope.expired:
            raise  # the node's own timeout, not ours
        raise NodeTimeoutError(state.node, _target(state), limit) from error


async def _publish(evaluator: Publisher, state: NodeState, data: Any) -> None:
    if state.level0_pending:
        await evaluator.wait_for_level0_readers(state, data)
    if not evaluator.run.stopping:
        evaluator.publish_final(state, data)


def _may_retry(state: NodeState, policy: Policy, error: BaseException) -> bool:
    """Another attempt is allowed: attempts left, a retryable error (a requested skip is not an
    error), and nothing published yet."""
    return (
        state.attempts <= policy.retries
        and not isinstance(error, SkipGeneration)
        and policy.retries_on(error)
        and state.phase is NodePhase.RUNNING
        and state.lap_phase is not LapPhase.OPEN
    )


def _target(state: NodeState) -> Generation:
    """The generation the evaluation in progress computes (a chunk's, mid-lap)."""
    return inc_generation(state.data.gen, 1 if state.lap_phase is LapPhase.OPEN else 0)


def chunk_timeout_error(state: NodeState, limit: float) -> NodeTimeoutError:
    """The chunk it waited for is the next one at run level 1 (the first of a lap is ``(k, 0)``)."""
    return NodeTimeoutError(state.node, inc_generation(state.data.gen, 1), limit, "chunk")


async def drop(evaluator: Publisher, state: NodeState, error: BaseException, target: Generation) -> None:
    """The failure is final and the policy goes on: publish a marker for the generation instead."""
    run = evaluator.run
    policy = state.policy
    assert policy is not None
    instrument = run.instrument
    if instrument is not None:
        instrument.on_node_error(run.flow, state.node, error)
    add_failure_notes(error, state, target)
    failed = policy.error_policy == "continue"
    logger.warning(
        "node %r failed at generation %s (on_error=%r: %s): %r",
        state.node,
        target,
        policy.on_error,
        "its dependants skip that generation" if failed else "it and its dependants skip that generation",
        error,
    )
    apply(state, NodeEvent.DROP, run)
    await publish_marker(evaluator, state, Skipped(state.node, target, error, failed))


async def skip_requested(evaluator: Publisher, state: NodeState, request: SkipGeneration, target: Generation) -> None:
    """The node's code raised SkipGeneration: publish a marker for the generation (not a failure)."""
    apply(state, NodeEvent.DROP, evaluator.run)
    await publish_marker(evaluator, state, Skipped(state.node, target, request, False))


async def publish_marker(evaluator: Publisher, state: NodeState, marker: Skipped) -> None:
    """Publish ``marker`` as the node's next value (a streaming node ends its lap with it)."""
    run = evaluator.run
    if state.level0_pending:
        await evaluator.wait_for_level0_readers(state, marker)
    if run.phase is RunPhase.RUNNING:
        streams = state.lap_phase is not LapPhase.NONE or state.draft._is_generator_node()
        evaluator.publish_final(state, marker, streamed=streams)  # (readers of a stream see its lap end)
