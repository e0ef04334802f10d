"""Connector nodes: HTTP requests, server-sent events, OpenAI-compatible chat streaming, files.

* ``http``: ``HttpGet``, ``HttpPost`` (one value each) and ``SSESource`` (a stream of events).
* ``llm``: ``ChatCompletion``, which streams the tokens of a chat completion (final value: a
  ``ChatAnswer``, the text with ``finish_reason``, ``tool_calls`` and ``usage``).
* ``files``: ``FileLines`` (a stream of lines) and ``FileWriter`` (writes a stream to a file).

Every node takes its parameters by position (flowno style: argument *i* is input port *i*) or by
name, and any of them can be connected to another node. Credentials are passed as ``Secret`` so they
never appear in logs, errors or reprs. This module only re-exports; see docs/connectors.md.
"""

from __future__ import annotations

from ._common import DEFAULT_TIMEOUT, Secret
from .files import FileLines, FileWriter
from .http import HttpGet, HttpPost, SSESource
from ._chat import ChatAnswer, ToolCall
from .llm import ChatCompletion, ChatCompletionError, ChatStreamTruncated

__all__ = [
    "DEFAULT_TIMEOUT",
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
]
