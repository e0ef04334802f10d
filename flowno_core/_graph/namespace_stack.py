"""The stack of open ``FlowHDL``/``FlowHDLView`` blocks (per thread).

Every draft node created while a block is open registers with the innermost one. A node created
outside any block is only reported with a warning: it can never be finalized.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hdl import FlowHDLView

logger = logging.getLogger(__name__)

_local = threading.local()


def view_stack() -> list["FlowHDLView"]:
    stack: list[FlowHDLView] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


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
