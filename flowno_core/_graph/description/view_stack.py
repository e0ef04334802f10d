"""The stack of open ``FlowHDL``/``FlowHDLView`` blocks (per thread).

Every draft node created while a block is open registers with the innermost one. A node created
outside any block is only reported with a warning: it can never be finalized. The stack holds
views by their protocol (``register``), so this module sits below both drafts and views.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

logger = logging.getLogger(__name__)

_local = threading.local()


class OpenView(Protocol):
    """What the stack needs of a view (``namespace.FlowHDLView`` implements it)."""

    def _register_draft(self, node: Any) -> None: ...

    def _open_template_view(self) -> Any: ...


def view_stack() -> list[OpenView]:
    stack: list[OpenView] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def innermost_view() -> Any:
    """The innermost open view of this thread, or None."""
    stack = view_stack()
    return stack[-1] if stack else None


def register_draft(node: Any) -> None:
    stack = view_stack()
    if stack:
        stack[-1]._register_draft(node)
    else:
        logger.warning(
            "node %r was created outside a FlowHDL block and will never be finalized; "
            "create nodes inside `with FlowHDL() as f:`",
            node,
        )
