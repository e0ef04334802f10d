"""flowno_nodes: ready-made nodes for flowno_core flows.

Written only against flowno_core's public and low-level API, so an outside author has exactly the
tools these nodes use. Nodes are grouped by category in subpackages; this module only re-exports.

* ``flowno_nodes.connectors``: HTTP (``HttpGet``, ``HttpPost``, ``SSESource``), LLM chat streaming
  (``ChatCompletion``) and files (``FileLines``, ``FileWriter``); see docs/connectors.md.

Example::

    from flowno_core import FlowHDL
    from flowno_nodes import ChatCompletion, FileWriter

    with FlowHDL() as f:
        f.answer = ChatCompletion("Name three rivers")      # OPENAI_BASE_URL / OPENAI_API_KEY
        f.saved = FileWriter("answer.txt", f.answer)
    f.run_until_complete()
"""

from __future__ import annotations

from .connectors import (
    ChatAnswer,
    ChatCompletion,
    ChatCompletionError,
    ChatStreamTruncated,
    FileLines,
    FileWriter,
    HttpGet,
    HttpPost,
    Secret,
    SSESource,
    ToolCall,
)
from .operators import (
    StreamTimeout,
    apply,
    batch,
    collect,
    concat,
    count,
    count_items,
    debounce,
    delay,
    distinct,
    enumerate_items,
    flatten,
    foreach,
    from_inlet,
    from_iterable,
    gate,
    interval,
    keep,
    merge,
    reduce,
    scan,
    skip,
    take,
    take_while,
    throttle,
    timeout,
    window,
    zip_latest,
)

__all__ = [
    "ChatAnswer",
    "ChatCompletion",
    "ChatCompletionError",
    "ChatStreamTruncated",
    "FileLines",
    "FileWriter",
    "HttpGet",
    "HttpPost",
    "SSESource",
    "Secret",
    "ToolCall",
    # operators (flowno_nodes.operators)
    "StreamTimeout",
    "apply",
    "batch",
    "collect",
    "concat",
    "count",
    "count_items",
    "debounce",
    "delay",
    "distinct",
    "enumerate_items",
    "flatten",
    "foreach",
    "from_inlet",
    "from_iterable",
    "gate",
    "interval",
    "keep",
    "merge",
    "reduce",
    "scan",
    "skip",
    "take",
    "take_while",
    "throttle",
    "timeout",
    "window",
    "zip_latest",
]
