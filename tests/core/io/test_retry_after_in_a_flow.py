"""A node calling a real HTTP endpoint that answers 429 with Retry-After is retried no sooner than
the server asked (issue 13), over loopback sockets, with the retry wait on the flow's virtual clock."""

from __future__ import annotations

from flowno_core import FlowHDL, VirtualClock, current_flow, node
from flowno_core.io import HTTPException, HttpClient
from iohelpers import Script, ScriptedServer

LIMITED = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 4\r\n\r\nslow"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def test_a_429_with_retry_after_is_retried_after_at_least_that_long():
    attempts: list[float] = []

    @node(retries=3, retry_delay=0.5, retry_on=(HTTPException,))
    async def Fetch(url: str) -> str:
        attempts.append(current_flow().event_loop.time())
        response = await HttpClient().get(url)
        response.raise_for_status()
        return response.body.decode()

    with ScriptedServer([Script([LIMITED]), Script([OK])]) as server:
        with FlowHDL(clock=VirtualClock()) as f:
            f.fetch = Fetch(server.url + "/v1/chat")
        report = f.run_until_complete()
    assert f.fetch.get_data() == ("hello",)
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 30.0  # not retry_delay's 0.5
    (record,) = [r for r in report.evaluations if r.node is f.fetch]
    assert record.status == "succeeded" and record.attempts == 2
