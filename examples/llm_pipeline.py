"""A streaming LLM pipeline: ask a chat-completion endpoint, transform the tokens as they arrive,
write them to a file and print progress.

Run it with ``python examples/llm_pipeline.py`` (options: ``--prompt TEXT``, ``--output PATH``).

By default the example starts its own fake OpenAI-compatible endpoint on 127.0.0.1 (an
``HttpServer`` on a background thread), so it needs no network and no key and finishes in about a
second. To ask a real endpoint instead, set:

* ``OPENAI_BASE_URL``: the API root, e.g. ``https://api.openai.com/v1`` or
  ``http://127.0.0.1:11434/v1`` (Ollama);
* ``OPENAI_API_KEY``: the key (read by ``ChatCompletion`` itself; never printed);
* ``OPENAI_MODEL``: the model (default ``gpt-4o-mini``).

``FLOWNO_LLM_BASE_URL``, ``FLOWNO_LLM_API_KEY`` and ``FLOWNO_LLM_MODEL`` override them when set.

The flow::

    ChatCompletion --tokens--> Upper --chunks--> FileWriter(output)
                   \\-tokens--> WordCount (prints progress)

``ChatCompletion`` streams tokens (run level 1) and its final value is the whole answer. ``Upper``
and ``WordCount`` read the token stream as it arrives; ``FileWriter`` writes each upper-cased chunk
as soon as it comes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from flowno_core import FlowHDL, Stream, node, sleep
from flowno_core.io import HttpServer, ServerRequest, ServerThread, sse_response
from flowno_nodes import ChatCompletion, FileWriter

FAKE_MODEL = "fake-gpt"
FAKE_ANSWER = (
    "Streams let a pipeline start working before the answer is complete: every token flows "
    "through the transform and into the file while the model is still writing the rest."
)


def fake_tokens(prompt: str) -> list[str]:
    """The tokens the fake endpoint sends: a short echo of the prompt, then the canned answer."""
    text = f"You asked: {prompt.strip()!r}. {FAKE_ANSWER}"
    words = text.split(" ")
    return [words[0]] + [" " + word for word in words[1:]]


def fake_openai_server() -> HttpServer:
    """An OpenAI-compatible ``POST /v1/chat/completions`` that streams ``fake_tokens`` as SSE."""
    server = HttpServer("127.0.0.1", 0)

    @server.route("/v1/chat/completions", methods=["POST"])
    async def completions(request: ServerRequest) -> Any:
        prompt = request.json()["messages"][-1]["content"]

        async def events() -> AsyncIterator[Any]:
            yield {"choices": [{"index": 0, "delta": {"role": "assistant"}}]}
            for token in fake_tokens(prompt):
                yield {"choices": [{"index": 0, "delta": {"content": token}}]}
                await sleep(0.02)  # pretend to think
            yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

        return sse_response(events(), done=True)

    return server


@node(stream_in=["tokens"])
async def Upper(tokens: Stream[str]) -> Any:
    """Upper-case each token as it arrives."""
    async for token in tokens:
        yield token.upper()


@node(stream_in=["tokens"])
async def WordCount(tokens: Stream[str], every: int = 10) -> int:
    """Count words across token boundaries as they arrive, printing progress; return the count."""
    words = count = 0
    in_word = False
    async for token in tokens:
        count += 1
        for char in token:
            if char.isspace():
                in_word = False
            elif not in_word:
                in_word = True
                words += 1
        if count % every == 0:
            print(f"[progress] {count} tokens, {words} words", flush=True)
    return words


def run_pipeline(prompt: str, output: str, base_url: str, model: str | None) -> tuple[str, int, int]:
    """Run the flow; returns (the answer, words counted, bytes written)."""
    messages = [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": prompt},
    ]
    with FlowHDL() as f:
        f.tokens = ChatCompletion(messages, model=model, base_url=base_url)  # key: $OPENAI_API_KEY
        f.upper = Upper(f.tokens)
        f.saved = FileWriter(output, f.upper)
        f.words = WordCount(f.tokens)
    f.run_until_complete()
    return f.tokens.get_data()[0], f.words.get_data()[0], f.saved.get_data()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--prompt", default="Why stream an LLM's answer?")
    parser.add_argument("--output", default=os.path.join(tempfile.gettempdir(), "flowno_llm_pipeline.txt"))
    args = parser.parse_args()

    real_url = os.environ.get("FLOWNO_LLM_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
    model = os.environ.get("FLOWNO_LLM_MODEL")
    if real_url:
        print(f"Asking {real_url} (model {model or os.environ.get('OPENAI_MODEL') or 'gpt-4o-mini'})", flush=True)
        answer, words, written = run_pipeline(args.prompt, args.output, real_url, model)
    else:
        with ServerThread(fake_openai_server()) as url:
            print(f"Asking the local fake endpoint {url}/v1 (set OPENAI_BASE_URL for a real one)", flush=True)
            answer, words, written = run_pipeline(args.prompt, args.output, url + "/v1", FAKE_MODEL)
    print(f"Done: {words} words; wrote {written} bytes to {args.output}")
    print(f"Answer: {answer}")


if __name__ == "__main__":
    main()
