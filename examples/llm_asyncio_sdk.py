"""An LLM pipeline whose model client is an asyncio library, called from nodes through the bridge.

Run it with ``python examples/llm_asyncio_sdk.py`` (option: ``--question TEXT``, repeatable).

Most LLM SDKs (openai, anthropic...) are asyncio libraries: their calls need an asyncio event loop,
which flowno_core's loop is not. ``await from_asyncio(client.complete(...))`` runs such a call on an
asyncio loop kept on a helper thread for the run, and hands the result back to the node. Several
questions are asked at once: the calls overlap on that one helper loop.

``AsyncChatClient`` below stands in for such an SDK: it is written with nothing but asyncio
(``asyncio.open_connection``), like a real one, and speaks the OpenAI chat-completion format. By
default it talks to a fake endpoint this script starts on 127.0.0.1 (an ``HttpServer`` on a
background thread), so no network and no key are needed.

The flow::

    Ask(question 1) --\\
    Ask(question 2) ----> Report (prints the answers in question order)
    Ask(question 3) --/
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

from flowno_core import FlowHDL, from_asyncio, node
from flowno_core.io import HttpServer, ServerRequest, ServerThread

QUESTIONS = ["What is a stream?", "Why feedback loops?", "What does the bridge do?"]


# ------------------------------------------------------------------ an asyncio "SDK"
class AsyncChatClient:
    """A minimal asyncio chat-completion client (what an SDK's ``await client.chat(...)`` does)."""

    def __init__(self, base_url: str, model: str = "fake-gpt") -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path.rstrip("/")
        self.model = model

    async def complete(self, question: str) -> str:
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": question}]}).encode()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(
                f"POST {self.path}/chat/completions HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise RuntimeError(f"the endpoint answered {status.decode().strip()}")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            answer = json.loads(await reader.readexactly(length))
            return str(answer["choices"][0]["message"]["content"])
        finally:
            writer.close()
            await writer.wait_closed()


# ------------------------------------------------------------------ the fake endpoint
def fake_answer(question: str) -> str:
    return f"An answer to {question!r}."


def fake_chat_server() -> HttpServer:
    """An OpenAI-compatible ``POST /v1/chat/completions`` answering with ``fake_answer``."""
    server = HttpServer("127.0.0.1", 0)

    @server.route("/v1/chat/completions", methods=["POST"])
    async def completions(request: ServerRequest) -> Any:
        question = request.json()["messages"][-1]["content"]
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": fake_answer(question)}}]}

    return server


# ------------------------------------------------------------------ the flow
def run(questions: list[str], base_url: str) -> list[str]:
    client = AsyncChatClient(base_url)

    @node
    async def Ask(question: str) -> str:
        return await from_asyncio(client.complete(question))  # the asyncio call, through the bridge

    @node
    async def Report(*answers: str) -> list[str]:
        return list(answers)

    with FlowHDL() as f:
        f.report = Report(*(Ask(question) for question in questions))
    f.run_until_complete()
    (answers,) = f.report.get_data()
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--question", action="append", help="a question to ask (repeatable)")
    args = parser.parse_args()
    questions = args.question or QUESTIONS
    with ServerThread(fake_chat_server()) as url:
        print(f"Asking the local fake endpoint {url}/v1 through an asyncio client")
        for question, answer in zip(questions, run(questions, url + "/v1")):
            print(f"Q: {question}\nA: {answer}")


if __name__ == "__main__":
    main()
