"""from_asyncio: asyncio code awaited inside nodes (issue 14), with a real asyncio library (httpx)
against flowno_core's own HttpServer on loopback: results, errors, many concurrent calls on one
helper thread, cancellation mid-request, and the helper thread gone when the run ends."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from flowno_core import FlowHDL, from_asyncio, from_asyncio_stream, node, to_thread
from flowno_core.io import HttpServer, ServerThread

pytestmark = pytest.mark.usefixtures("real_clock")  # real sockets and threads


def helper_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "flowno_core-asyncio"]


def make_server(hold: threading.Event | None = None, seen_cancel: threading.Event | None = None) -> HttpServer:
    server = HttpServer("127.0.0.1", 0)

    @server.route("/double/{n}")
    async def double(request):
        return str(2 * int(request.path_params["n"]))

    @server.route("/slow")
    async def slow(request):
        from flowno_core import sleep

        await sleep(30)  # far longer than the node may wait
        return "late"

    return server


def test_an_asyncio_client_inside_nodes_gets_its_answers():
    with ServerThread(make_server()) as url:

        @node
        async def Double(n: int) -> int:
            async def get() -> int:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"{url}/double/{n}")
                    response.raise_for_status()
                    return int(response.text)

            return await from_asyncio(get())

        @node
        async def Add(a: int, b: int) -> int:
            return a + b

        with FlowHDL() as f:
            f.a = Double(3)
            f.b = Double(f.a)
            f.total = Add(f.a, f.b)
        f.run_until_complete()
    assert (f.a.get_data(), f.b.get_data(), f.total.get_data()) == ((6,), (12,), (18,))
    assert helper_threads() == []  # the helper stopped with the run


def test_many_concurrent_calls_share_one_helper_thread():
    seen: set[str] = set()

    async def answer(n: int) -> int:
        seen.add(threading.current_thread().name)
        await asyncio.sleep(0.01)
        return n * n

    @node
    async def Square(n: int) -> int:
        return await from_asyncio(answer(n))

    @node
    async def Sum(*xs: int) -> int:
        return sum(xs)

    before = threading.active_count()
    with FlowHDL() as f:
        squares = [Square(n) for n in range(40)]
        f.total = Sum(*squares)
    f.run_until_complete()
    assert f.total.get_data() == (sum(n * n for n in range(40)),)
    assert seen == {"flowno_core-asyncio"}  # every call ran on the one helper thread
    assert threading.active_count() == before


def test_an_asyncio_error_is_raised_in_the_node_naming_it():
    async def broken() -> None:
        await asyncio.sleep(0)
        raise LookupError("not in the index")

    @node
    async def Lookup() -> None:
        await from_asyncio(broken())

    with FlowHDL() as f:
        f.lookup = Lookup()
    with pytest.raises(LookupError, match="not in the index") as info:
        f.run_until_complete()
    assert any("(Lookup)" in note for note in info.value.__notes__)
    assert helper_threads() == []


def test_a_node_timeout_cancels_the_asyncio_request_mid_flight():
    cancelled = threading.Event()
    with ServerThread(make_server()) as url:

        async def fetch_slowly() -> str:
            try:
                async with httpx.AsyncClient(timeout=60) as client:
                    return (await client.get(f"{url}/slow")).text
            except asyncio.CancelledError:
                cancelled.set()  # the asyncio side saw the cancellation
                raise

        @node(timeout=0.3, on_error="continue")
        async def Slow() -> str:
            return await from_asyncio(fetch_slowly())

        @node
        async def Watch() -> bool:  # the run goes on meanwhile: the cancel did not wait for its end
            return await to_thread(cancelled.wait, 20)

        with FlowHDL() as f:
            f.slow = Slow()
            f.watch = Watch()
        report = f.run_until_complete()
    assert f.watch.get_data() == (True,)
    assert [r.status for r in report.evaluations if r.node is f.slow] == ["timed_out"]
    assert helper_threads() == []


def test_an_asyncio_future_can_be_awaited_too():
    async def make() -> int:
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.01, future.set_result, 7)
        return await future

    @node
    async def Seven() -> int:
        return await from_asyncio(make())

    with FlowHDL() as f:
        f.seven = Seven()
    f.run_until_complete()
    assert f.seven.get_data() == (7,)


def test_outside_a_flowno_task_it_says_where_it_belongs():
    async def nothing() -> None:
        return None

    coroutine = nothing()
    with pytest.raises(RuntimeError, match="inside a flowno_core task"):
        asyncio.run(from_asyncio(coroutine))
    coroutine.close()


def test_asyncio_code_awaited_directly_fails_with_a_hint_to_the_bridge():
    @node
    async def Direct() -> None:
        await asyncio.sleep(0.01)  # needs an asyncio loop: ours is not one

    with FlowHDL() as f:
        f.direct = Direct()
    with pytest.raises(RuntimeError, match="no running event loop") as info:
        f.run_until_complete()
    assert any("from_asyncio" in note for note in info.value.__notes__)
    assert any("(Direct)" in note for note in info.value.__notes__)


def test_an_asyncio_stream_feeds_a_streaming_node():
    async def sdk_tokens(prompt: str):  # an asyncio async generator, like a streaming SDK response
        for word in prompt.split():
            await asyncio.sleep(0.001)
            yield word + " "

    @node
    async def Tokens(prompt: str):
        async for token in from_asyncio_stream(sdk_tokens(prompt)):
            yield token

    @node(stream_in=["tokens"])
    async def Shout(tokens):
        async for token in tokens:
            yield token.upper()

    with FlowHDL() as f:
        f.tokens = Tokens("stream these words")
        f.shout = Shout(f.tokens)
    f.run_until_complete()
    assert f.tokens.get_data() == ("stream these words ",)
    assert f.shout.get_data() == ("STREAM THESE WORDS ",)


def test_leaving_an_asyncio_stream_early_closes_it_on_the_asyncio_side():
    closed = threading.Event()

    async def endless():
        try:
            n = 0
            while True:
                await asyncio.sleep(0)
                yield n
                n += 1
        finally:
            closed.set()

    @node
    async def FirstThree() -> list[int]:
        seen = []
        async for n in from_asyncio_stream(endless()):
            seen.append(n)
            if len(seen) == 3:
                break
        return seen

    with FlowHDL() as f:
        f.first = FirstThree()
    f.run_until_complete()
    assert f.first.get_data() == ([0, 1, 2],)
    assert closed.is_set()
