"""What a chat completion answers, and how a stream of chunks is folded into that answer.

Theory of operation: this module is pure (no I/O, no event loop), in the manner of h11: ``ChatStream``
is fed the decoded ``chat.completion.chunk`` events one by one and keeps everything the answer is
made of: the content tokens, the tool calls being assembled from their deltas (keyed by the delta's
``index``: the first delta of a call brings ``id``, ``type`` and the function's ``name``, the
following ones fragments of the ``arguments`` JSON text), the ``finish_reason``, the ``usage``
chunk (``choices: []``, sent with ``stream_options.include_usage``), the model name and any
``refusal`` text. Only choice 0 is read. ``feed`` returns the content token an event carries (the
node yields it) and raises ``ChatEventError`` for an ``error`` event or a malformed one.

Invariant: the stream is *complete* once it carried a ``finish_reason`` or the ``[DONE]`` sentinel
(``mark_done``); a stream that ends before either was cut off, and the node reports it as an error
instead of returning a shorter answer. ``answer()`` builds the ``ChatAnswer`` at any point (the
node also uses it for the text received before a consumer cancelled).

``ChatAnswer`` is a ``str`` (the text, so every consumer of the plain answer keeps working) with the
rest of the answer as attributes; ``ToolCall`` mirrors OpenAI's ``message.tool_calls[i]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EVENT_EXCERPT = 200  # characters of a bad event quoted in an error


class ChatEventError(Exception):
    """An event the stream cannot use (the node turns it into ``ChatCompletionError``)."""


@dataclass(frozen=True)
class FunctionCall:
    """The ``function`` of a tool call: its ``name`` and its ``arguments`` as JSON text."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ToolCall:
    """One tool call of an answer, shaped like OpenAI's ``message.tool_calls[i]``.

    Attributes:
        id: the call's id (``"call_..."``); send it back as ``tool_call_id`` with the tool's result.
        name: the function to call (also ``call.function.name``).
        arguments: the arguments as the model wrote them: JSON *text* (also
            ``call.function.arguments``); ``parse_arguments()`` decodes it.
        type: ``"function"``.

    Examples:
        >>> call = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
        >>> call.function.name, call.parse_arguments()
        ('get_weather', {'city': 'Oslo'})
        >>> call.to_dict()
        {'id': 'call_1', 'type': 'function', 'function': {'name': 'get_weather', 'arguments': '{"city": "Oslo"}'}}
    """

    id: str | None  # noqa: A003 - OpenAI's field name
    name: str
    arguments: str = ""
    type: str = "function"  # noqa: A003 - OpenAI's field name

    @property
    def function(self) -> FunctionCall:
        """``FunctionCall(name, arguments)``, for code written against the OpenAI SDK."""
        return FunctionCall(self.name, self.arguments)

    def parse_arguments(self) -> Any:
        """The arguments decoded from JSON (``{}`` when the model sent none).

        Raises:
            ValueError: the arguments are not valid JSON (the message names the call and quotes them).
        """
        if not self.arguments.strip():
            return {}
        try:
            return json.loads(self.arguments)
        except ValueError as error:
            raise ValueError(
                f"tool call {self.id} ({self.name}): the arguments are not valid JSON ({error}): "
                f"{self.arguments[:EVENT_EXCERPT]!r}"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """The call as the API sends it (for an assistant message in the next request)."""
        return {"id": self.id, "type": self.type, "function": {"name": self.name, "arguments": self.arguments}}


class ChatAnswer(str):
    """The final value of ``ChatCompletion``: the answer's text, with the rest of the answer attached.

    A ``ChatAnswer`` *is* the text (a ``str`` subclass: it compares, hashes, prints and concatenates
    as the text), so a consumer that wants the text needs nothing else.

    Attributes:
        finish_reason: why the model stopped: ``"stop"``, ``"length"`` (``max_tokens`` reached: the
            text is cut short), ``"tool_calls"``, ``"content_filter"``, ... None when the endpoint sent
            none (it ended with ``[DONE]`` only) or a consumer cancelled the stream first.
        tool_calls: the tool calls, in order (a tuple of ``ToolCall``; empty when there are none).
        usage: the ``usage`` dict (``prompt_tokens``, ``completion_tokens``, ``total_tokens``) when the
            endpoint sent one (ask for it with ``options={"stream_options": {"include_usage": True}}``).
        model: the model that answered, as the endpoint named it.
        refusal: the model's refusal text (structured outputs), else None.

    Examples:
        >>> answer = ChatAnswer("Hi!", finish_reason="stop")
        >>> answer == "Hi!", answer.upper(), answer.finish_reason, answer.tool_calls
        (True, 'HI!', 'stop', ())
        >>> answer.message
        {'role': 'assistant', 'content': 'Hi!'}
    """

    finish_reason: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: dict[str, Any] | None
    model: str | None
    refusal: str | None

    def __new__(
        cls,
        text: str = "",
        *,
        finish_reason: str | None = None,
        tool_calls: tuple[ToolCall, ...] | list[ToolCall] = (),
        usage: dict[str, Any] | None = None,
        model: str | None = None,
        refusal: str | None = None,
    ) -> "ChatAnswer":
        answer = super().__new__(cls, text)
        answer.finish_reason = finish_reason
        answer.tool_calls = tuple(tool_calls)
        answer.usage = usage
        answer.model = model
        answer.refusal = refusal
        return answer

    @property
    def content(self) -> str:
        """The text as a plain ``str`` (``message.content`` in the OpenAI SDK)."""
        return str.__str__(self)

    @property
    def message(self) -> dict[str, Any]:
        """The assistant message to append to ``messages`` when the conversation goes on (with the
        tool calls, as the API wants them before the ``{"role": "tool", ...}`` results)."""
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        if self.refusal is not None:
            message["refusal"] = self.refusal
        return message

    def __repr__(self) -> str:
        extra = f", finish_reason={self.finish_reason!r}"
        if self.tool_calls:
            extra += f", tool_calls={list(self.tool_calls)!r}"
        return f"ChatAnswer({self.content!r}{extra})"

    def __reduce__(self) -> tuple[Any, ...]:
        fields = {name: getattr(self, name) for name in ("finish_reason", "tool_calls", "usage", "model", "refusal")}
        return (_rebuild_answer, (self.content, fields))


def _rebuild_answer(text: str, fields: dict[str, Any]) -> ChatAnswer:
    return ChatAnswer(text, **fields)


class _PartialCall:
    """A tool call while its deltas arrive."""

    __slots__ = ("id", "type", "name", "arguments")

    def __init__(self) -> None:
        self.id: str | None = None
        self.type = "function"
        self.name = ""
        self.arguments: list[str] = []

    def done(self) -> ToolCall:
        return ToolCall(self.id, self.name, "".join(self.arguments), self.type)


class ChatStream:
    """Folds ``chat.completion.chunk`` events into a ``ChatAnswer`` (see the module docstring).

    Examples:
        >>> stream = ChatStream()
        >>> stream.feed({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})
        'Hi'
        >>> stream.feed({"choices": [{"index": 0, "delta": {"tool_calls": [
        ...     {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a"'}}]}}]})
        >>> stream.feed({"choices": [{"index": 0, "delta": {"tool_calls": [
        ...     {"index": 0, "function": {"arguments": ': 1}'}}]}, "finish_reason": "tool_calls"}]})
        >>> answer = stream.answer()
        >>> stream.complete, answer.content, answer.finish_reason
        (True, 'Hi', 'tool_calls')
        >>> answer.tool_calls
        (ToolCall(id='call_1', name='f', arguments='{"a": 1}', type='function'),)
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.model: str | None = None
        self.done = False
        self._refusal: list[str] = []
        self._calls: dict[int, _PartialCall] = {}

    @property
    def tokens(self) -> int:
        """How many content tokens arrived."""
        return len(self.parts)

    @property
    def tool_call_count(self) -> int:
        """How many tool calls were started."""
        return len(self._calls)

    @property
    def complete(self) -> bool:
        """True once a ``finish_reason`` or ``[DONE]`` arrived."""
        return self.done or self.finish_reason is not None

    def mark_done(self) -> None:
        """The ``[DONE]`` sentinel arrived."""
        self.done = True

    def feed(self, event: Any) -> str | None:
        """Take one decoded event; returns its content token (None when it carries none)."""
        if not isinstance(event, Mapping):
            raise ChatEventError(f"unexpected stream event {repr(event)[:EVENT_EXCERPT]}")
        if event.get("error"):
            error = event["error"]
            message = error.get("message", error) if isinstance(error, Mapping) else error
            raise ChatEventError(f"the endpoint reported an error: {str(message)[:500]}")
        model = event.get("model")
        if isinstance(model, str) and model and self.model is None:
            self.model = model
        usage = event.get("usage")
        if isinstance(usage, Mapping):
            self.usage = dict(usage)
        choices = event.get("choices")
        if choices is None:
            return None
        if not isinstance(choices, list):
            raise ChatEventError(f"'choices' is not a list in {repr(event)[:EVENT_EXCERPT]}")
        for choice in choices:
            if isinstance(choice, Mapping) and choice.get("index", 0) == 0:
                return self._choice(choice)
        return None

    def _choice(self, choice: Mapping[str, Any]) -> str | None:
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = reason
        whole = "delta" not in choice  # a non-streamed completion: a whole message
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, Mapping):
            raise ChatEventError(f"'delta' is not an object: {repr(delta)[:EVENT_EXCERPT]}")
        if delta.get("function_call"):
            raise ChatEventError(
                "the answer is a legacy 'function_call' (the deprecated 'functions' request field), which "
                "ChatCompletion does not assemble: pass options={'tools': [{'type': 'function', 'function': ...}]}"
            )
        calls = delta.get("tool_calls")
        if calls:
            self._tool_deltas(calls, whole)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._refusal.append(refusal)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self.parts.append(content)
            return content
        return None

    def _tool_deltas(self, deltas: Any, whole: bool) -> None:
        if not isinstance(deltas, list):
            raise ChatEventError(f"'tool_calls' is not a list: {repr(deltas)[:EVENT_EXCERPT]}")
        first = max(self._calls, default=-1) + 1
        for position, delta in enumerate(deltas):
            if not isinstance(delta, Mapping):
                raise ChatEventError(f"a tool-call delta is not an object: {repr(delta)[:EVENT_EXCERPT]}")
            call_id = delta.get("id") if isinstance(delta.get("id"), str) else None
            index = delta.get("index")
            if whole:
                index = first + position  # whole calls: one per list entry, whatever their index says
            elif not isinstance(index, int) or isinstance(index, bool):
                index = self._index_of(call_id, position)
            call = self._calls.get(index)
            if call is None:
                call = self._calls[index] = _PartialCall()
            if call_id and call.id is None:
                call.id = call_id
            kind = delta.get("type")
            if isinstance(kind, str) and kind:
                call.type = kind
            function = delta.get("function") or {}
            if not isinstance(function, Mapping):
                raise ChatEventError(f"a tool call's 'function' is not an object: {repr(function)[:EVENT_EXCERPT]}")
            name = function.get("name")
            if isinstance(name, str) and name and name != call.name:
                call.name += name  # a name sent again whole (some servers repeat it) is not doubled
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                call.arguments.append(arguments)
            elif isinstance(arguments, Mapping):  # some servers send the arguments as an object
                call.arguments.append(json.dumps(arguments))

    def _index_of(self, call_id: str | None, position: int) -> int:
        """The index of a delta that has none: the call with its id, a new call for a new id, else
        the latest call (a continuation), else its position in the list."""
        if call_id is not None:
            for index, call in self._calls.items():
                if call.id == call_id:
                    return index
            return max(self._calls, default=-1) + 1
        return max(self._calls) if self._calls else position

    def answer(self) -> ChatAnswer:
        """The answer so far."""
        return ChatAnswer(
            "".join(self.parts),
            finish_reason=self.finish_reason,
            tool_calls=tuple(self._calls[index].done() for index in sorted(self._calls)),
            usage=self.usage,
            model=self.model,
            refusal="".join(self._refusal) if self._refusal else None,
        )


def answer_from_completion(completion: Any) -> ChatAnswer:
    """The ``ChatAnswer`` of a whole (non-streamed) ``chat.completion`` object.

    Examples:
        >>> answer_from_completion({"choices": [{"index": 0, "finish_reason": "stop",
        ...     "message": {"role": "assistant", "content": "all at once"}}]})
        ChatAnswer('all at once', finish_reason='stop')
    """
    stream = ChatStream()
    if not isinstance(completion, Mapping):
        raise ChatEventError(f"expected a chat.completion object, got {repr(completion)[:EVENT_EXCERPT]}")
    if not completion.get("error") and not completion.get("choices"):
        raise ChatEventError(f"the completion has no choices: {json.dumps(completion)[:EVENT_EXCERPT]}")
    stream.feed(completion)
    stream.mark_done()
    return stream.answer()


__all__ = ["ChatAnswer", "ChatEventError", "ChatStream", "FunctionCall", "ToolCall", "answer_from_completion"]
