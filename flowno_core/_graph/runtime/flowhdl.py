"""FlowHDL: the namespace of ``FlowHDLView`` plus the ``Flow`` it builds and runs.

The description side (names, forward references, finalization) is ``FlowHDLView``; this class adds
the flow: finalized nodes are registered with a ``Flow`` as they are created, the flow builds its
runtime records when the block exits, and ``run_until_complete`` runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Unpack

from ..._kernel.task import TaskHandle
from ..description.finalized import FinalizedNode
from ..control.policy import ControlOptions
from ..control.report import RunReport
from ..description.namespace import FlowHDLView
from .endings import DEADLOCK_GRACE_SECONDS
from .flow import DEFAULT_MAX_RECORDS, Flow

if TYPE_CHECKING:  # (loaded when a watch is made)
    from .watching import Watch


class FlowHDL(FlowHDLView):
    """Describe a flow in a ``with`` block, then run it.

    Example::

        @node
        async def Add(x, y):
            return x + y

        with FlowHDL() as f:
            f.total = Add(f.a, f.b)     # forward references are fine
            f.a = Add(1, 2)
            f.b = Add(3, 4)

        f.run_until_complete()
        assert f.total.get_data() == (10,)
    """

    KEYWORDS: ClassVar[list[str]] = ["KEYWORDS", "run_until_complete", "create_task", "register_child_result"]
    METHODS: ClassVar[tuple[str, ...]] = (
        "cancel", "pause", "resume", "last_report", "run_async", "watch", "to_dot", "to_mermaid"
    )
    _is_flow: ClassVar[bool] = True

    def __init__(
        self, *, clock: Any = None, deadlock_grace: float | None = DEADLOCK_GRACE_SECONDS, **control: Unpack[ControlOptions]
    ) -> None:
        """``control``: run-control defaults for every node of the flow (``retries=``, ``timeout=``,
        ``on_error=``...; a node's own ``@node(...)`` setting wins). See docs/run-control.md."""
        super().__init__(self._register_finalized)
        self._flow: Flow = Flow(clock=clock, deadlock_grace=deadlock_grace, **control)

    def _register_finalized(self, node: FinalizedNode) -> None:
        self._flow.add_node(node)  # looked up each time: code written for flowno may replace ``_flow``

    def run_until_complete(
        self,
        stop_at_node_generation: Any = (),
        terminate_on_node_error: bool = True,
        _debug_max_wait_time: float | None = None,
        context_factory: Callable[[FinalizedNode], Any] | None = None,
        *,
        timeout: float | None = None,
        report_max_records: int | None = DEFAULT_MAX_RECORDS,
        checkpoint: Any = None,
        progress: bool = False,
    ) -> RunReport:
        """Run the flow (see ``Flow.run_until_complete``); node errors end the run by default.
        Returns the run's ``RunReport`` (see docs/run-reports.md). ``progress=True`` shows the
        run's progress on stderr (see docs/tracing.md)."""
        return self._flow.run_until_complete(
            stop_at_node_generation=stop_at_node_generation,
            terminate_on_node_error=terminate_on_node_error,
            _debug_max_wait_time=_debug_max_wait_time,
            context_factory=context_factory,
            timeout=timeout,
            report_max_records=report_max_records,
            checkpoint=checkpoint,
            progress=progress,
        )

    def _finalize(self) -> None:
        super()._finalize()
        self._flow._build()  # runtime records and static analysis now, not in the first run

    def watch(self, node: Any, *args: Any, **kwargs: Any) -> Watch:
        """Iterate what ``node`` publishes while the flow runs (see ``Flow.watch``)."""
        return self._flow.watch(node, *args, **kwargs)

    async def run_async(self, *args: Any, **kwargs: Any) -> RunReport:
        """Run the flow from asyncio code without blocking its loop (see ``Flow.run_async``)."""
        return await self._flow.run_async(*args, **kwargs)

    @property
    def last_report(self) -> RunReport | None:
        """The report of the latest run, also of one that raised (None before the first run)."""
        return self._flow.last_report

    def cancel(self, reason: Any = None) -> bool:
        """End the run in progress (from any thread): ``run_until_complete`` raises FlowCancelled(reason).
        False when no run is in progress. (A node named ``cancel`` takes the name: use ``f._flow.cancel``.)"""
        return self._flow.cancel(reason)

    def pause(self) -> bool:
        """Let no new evaluation begin until ``resume()`` (from any thread); running ones finish."""
        return self._flow.pause()

    def resume(self) -> bool:
        """Let evaluations begin again after ``pause()`` (from any thread)."""
        return self._flow.resume()

    def to_dot(self, name: str = "flow") -> str:
        """The flow as a Graphviz DOT ``digraph`` named ``name``: nodes by the names they were
        assigned to, constants folded into their nodes, inputs named by parameter, streaming inputs
        dashed, the input whose default starts each cycle bold. See docs/cli.md.

        Example::

            print(f.to_dot("f"))      # then: dot -Tsvg
        """
        from ...tooling.pictures import to_dot  # (imported on first use)

        return to_dot(self._flow.nodes, name)

    def to_mermaid(self) -> str:
        """The flow as a Mermaid ``flowchart`` (the picture of ``to_dot``; GitHub renders it in a
        mermaid code block): streaming inputs dotted, the input starting each cycle thick."""
        from ...tooling.pictures import to_mermaid  # (imported on first use)

        return to_mermaid(self._flow.nodes)

    def create_task(self, raw_task: Any) -> TaskHandle[Any]:
        """Queue a raw coroutine on the flow's loop (before the run, or from another thread during it)."""
        return self._flow.event_loop.create_task(raw_task)
