"""Debug logging of a run: what ``FLOWNO_LOG_LEVEL=DEBUG`` shows.

Theory of operation: when the "flowno_core" logger is enabled for DEBUG as a run starts, the run
gets a ``DebugLog`` instrument (joined to any other active instrument) that logs the run's start
and end and every node evaluation, chunk, error and reached limit, naming nodes as the user wrote
them. Each record carries a ``tag`` ("flow", "node", "stream"), which ``FLOWNO_LOG_TAG_FILTER``
selects. When DEBUG is off nothing is installed, so logging costs one ``isEnabledFor`` per run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from ..description.draft import Constant
from ..description.naming import node_label
from .instruments import FlowInstrument

logger = logging.getLogger("flowno_core.flow")


def wanted() -> bool:
    """``logger.isEnabledFor(DEBUG)`` without its cache (which allocates during a run the first time)."""
    return not logger.disabled and logger.manager.disable < logging.DEBUG and logger.getEffectiveLevel() <= logging.DEBUG


def _hidden(node: Any) -> bool:
    """A constant feeding a plain argument: not a node the user wrote, so not logged."""
    return isinstance(getattr(node, "_draft_node", node), Constant)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class DebugLog(FlowInstrument):
    """Logs a run at DEBUG level on the "flowno_core.flow" logger."""

    joins_active: ClassVar[bool] = True

    def on_flow_start(self, flow: Any) -> None:
        logger.debug("run of %r started", flow, extra={"tag": "flow"})

    def on_flow_end(self, flow: Any) -> None:
        logger.debug("run of %r ended", flow, extra={"tag": "flow"})

    @contextmanager
    def node_lifecycle(self, flow: Any, node: Any, run_level: int) -> Iterator[None]:
        if _hidden(node):
            yield
            return
        what = "evaluation" if run_level == 0 else "next chunk"
        logger.debug("%s: %s started", node_label(node), what, extra={"tag": "node"})
        yield
        logger.debug("%s: %s ended", node_label(node), what, extra={"tag": "node"})

    def on_node_emitted_data(self, flow: Any, node: Any, data: Any, run_level: int) -> None:
        if _hidden(node):
            return
        kind = "chunk" if run_level else "value"
        logger.debug(
            "%s: published %s %s at generation %s", node_label(node), kind, _short(data), node.generation,
            extra={"tag": "stream" if run_level else "node"},
        )

    def on_node_error(self, flow: Any, node: Any, error: BaseException) -> None:
        logger.debug("%s: failed: %r", node_label(node), error, extra={"tag": "node"})

    def on_node_generation_limit(self, flow: Any, node: Any, limit: Any) -> None:
        logger.debug("%s: reached its limit %s", node_label(node), limit, extra={"tag": "flow"})
