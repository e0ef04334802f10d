"""EventLoopInstrument hooks: each fires at its point, nothing fires when no instrument is active,
and nested instruments are called innermost first."""

from __future__ import annotations

import socket as stdsocket

import pytest

from flowno_core import (
    AsyncQueue,
    EventLoop,
    EventLoopInstrument,
    SocketHandle,
    TaskCancelled,
    current_event_loop,
    sleep,
    socket,
    spawn,
)
from flowno_core._kernel.clock import VirtualClock
from flowno_core._kernel.commands import Spawn
from flowno_core._kernel.instrument_events import (
    InstrumentationMetadata,
    ReadySocketInstrumentationMetadata,
    SocketConnectReadyMetadata,
    SocketConnectStartMetadata,
    SocketRecvDataMetadata,
    SocketSendDataMetadata,
    TaskSendMetadata,
    TaskThrowMetadata,
)
from flowno_core._kernel.instruments import active_loop_instrument, get_current_instrument

HOOKS = sorted(name for name in dir(EventLoopInstrument) if name.startswith("on_"))


class Recorder(EventLoopInstrument):
    """Records every hook call as (tag, hook name, args)."""

    def __init__(self, tag: str = "", log: list | None = None) -> None:
        self.tag = tag
        self.log: list = [] if log is None else log

    def names(self) -> list[str]:
        return [name for _, name, _ in self.log]

    def calls(self, name: str) -> list[tuple]:
        return [args for _, hook, args in self.log if hook == name]


def _make_hook(hook_name):
    def hook(self, *args):
        self.log.append((self.tag, hook_name, args))

    return hook


for _name in HOOKS:
    setattr(Recorder, _name, _make_hook(_name))


def run_virtual(coro):
    return EventLoop(clock=VirtualClock()).run_until_complete(coro, join=True)


def test_the_hook_set_is_flownos_plus_task_spawned():
    assert HOOKS == sorted(
        [
            "on_queue_get", "on_queue_put",
            "on_socket_connect_start", "on_socket_connect_ready",
            "on_socket_recv_start", "on_socket_recv_ready", "on_socket_recv_data",
            "on_socket_send_start", "on_socket_send_ready", "on_socket_send_data",
            "on_socket_accept_start", "on_socket_accept_ready",
            "on_tls_handshake_complete", "on_socket_close",
            "on_task_before_send", "on_task_after_send",
            "on_task_before_throw", "on_task_after_throw",
            "on_task_completed", "on_task_error", "on_task_cancelled",
            "on_task_spawned",
        ]
    )  # fmt: skip


# ---------------------------------------------------------------------------------------- task hooks


def test_task_hooks_fire_at_each_step_and_end():
    coros = {}

    async def ok():
        await sleep(1)
        return "ok"

    async def bad():
        raise ValueError("bad")

    async def sleeper():
        await sleep(100)

    async def main():
        coros["ok"], coros["bad"], coros["sleeper"] = ok(), bad(), sleeper()
        for name in ("ok", "bad", "sleeper"):
            coros[name + "-handle"] = await spawn(coros[name])
        await sleep(2)
        await coros["sleeper-handle"].cancel()
        return "root"

    root = main()
    with Recorder() as recorder:
        assert run_virtual(root) == "root"

    spawned = recorder.calls("on_task_spawned")
    assert spawned == [(root, None), (coros["ok"], root), (coros["bad"], root), (coros["sleeper"], root)]
    assert (coros["ok"], "ok") in recorder.calls("on_task_completed")
    assert (root, "root") in recorder.calls("on_task_completed")
    [(errored, error)] = recorder.calls("on_task_error")
    assert errored is coros["bad"] and isinstance(error, ValueError)
    [(cancelled, cancel_error)] = recorder.calls("on_task_cancelled")
    assert cancelled is coros["sleeper"] and isinstance(cancel_error, TaskCancelled)
    [(before_throw,)] = recorder.calls("on_task_before_throw")
    assert isinstance(before_throw, TaskThrowMetadata)
    assert before_throw.task is coros["sleeper"] and before_throw.exception is cancel_error
    assert len(recorder.calls("on_task_after_throw")) == 0  # the throw ended the task
    # every step: before_send, then after_send with the yielded command (or the task's end)
    first_after = recorder.calls("on_task_after_send")[0]
    assert isinstance(first_after[0], TaskSendMetadata)
    assert first_after[0].task is root and first_after[0].send_value is None
    assert isinstance(first_after[1], Spawn) and first_after[1].coro is coros["ok"]


def test_task_hooks_pair_up_per_step():
    async def child():
        await sleep(0)
        try:
            await sleep(10)
        except TaskCancelled:
            await sleep(0)  # a step after a throw: after_throw fires with the command
            raise

    async def main():
        handle = await spawn(child())
        await sleep(1)
        await handle.cancel()

    with Recorder() as recorder:
        run_virtual(main())
    ends = {"on_task_completed", "on_task_error", "on_task_cancelled"}
    open_steps = {}
    for _, name, args in recorder.log:
        if name in ("on_task_before_send", "on_task_before_throw"):
            task = args[0].task
            assert task not in open_steps
            open_steps[task] = name
        elif name in ("on_task_after_send", "on_task_after_throw"):
            task = args[0].task
            assert open_steps.pop(task) == name.replace("after", "before")
        elif name in ends:
            assert args[0] in open_steps
            open_steps.pop(args[0])
    assert open_steps == {}
    assert len(recorder.calls("on_task_after_throw")) == 1


# ---------------------------------------------------------------------------------------- queue hooks


def test_queue_hooks_fire_on_put_and_get():
    queue: AsyncQueue[str] = AsyncQueue()

    async def main():
        await queue.put("a")
        await queue.put("b")
        assert await queue.get() == "a"
        async for item in queue.until_empty():
            assert item == "b"

    with Recorder() as recorder:
        run_virtual(main())
    assert recorder.calls("on_queue_put") == [(queue, "a", True), (queue, "b", True)]
    assert recorder.calls("on_queue_get") == [(queue, "a", True), (queue, "b", True)]


# ---------------------------------------------------------------------------------------- socket hooks


def test_socket_hooks_fire_for_connect_accept_send_recv_and_close():
    async def main():
        listener = socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = listener.getsockname()

        async def serve():
            conn, _ = await listener.accept()
            data = await conn.recv(100)
            await conn.sendAll(data.upper())
            conn.close()

        server = await spawn(serve())
        client = socket()
        await client.connect(address)
        await sleep(0)
        await client.sendAll(b"ping")
        reply = await client.recv(100)
        await server.join()
        client.close()
        listener.close()
        return reply, client, listener, address

    with Recorder() as recorder:
        reply, client, listener, address = EventLoop().run_until_complete(main(), join=True)
    assert reply == b"PING"
    [(start,)] = recorder.calls("on_socket_connect_start")
    [(ready,)] = recorder.calls("on_socket_connect_ready")
    assert isinstance(start, SocketConnectStartMetadata) and start.target_address == address
    assert isinstance(ready, SocketConnectReadyMetadata) and ready.socket_handle is client
    [(accept_start,)] = recorder.calls("on_socket_accept_start")
    [(accept_ready,)] = recorder.calls("on_socket_accept_ready")
    assert isinstance(accept_start, InstrumentationMetadata) and accept_start.socket_handle is listener
    assert isinstance(accept_ready, ReadySocketInstrumentationMetadata)
    assert accept_ready.finish_time >= accept_ready.start_time
    sent = recorder.calls("on_socket_send_data")
    assert all(isinstance(meta, SocketSendDataMetadata) for (meta,) in sent)
    assert [(meta.data, meta.bytes_sent) for (meta,) in sent] == [(b"ping", 4), (b"PING", 4)]
    received = recorder.calls("on_socket_recv_data")
    assert all(isinstance(meta, SocketRecvDataMetadata) for (meta,) in received)
    assert [meta.data for (meta,) in received] == [b"ping", b"PING"]
    closed = [meta.socket_handle for (meta,) in recorder.calls("on_socket_close")]
    assert client in closed and listener in closed and len(closed) == 3


def test_recv_and_send_start_and_ready_fire_around_a_wait():
    left_raw, right_raw = stdsocket.socketpair()
    left, right = SocketHandle(left_raw), SocketHandle(right_raw)

    async def main():
        reader = await spawn(left.recv(10))  # nothing to read yet: it waits
        await sleep(0)
        right.socket.send(b"x")
        assert await reader.join() == b"x"
        while True:  # fill the send buffer so the next send waits
            try:
                left.socket.send(b"y" * 65536)
            except BlockingIOError:
                break
        writer = await spawn(left.send(b"z"))
        await sleep(0)
        while True:
            try:
                right.socket.recv(1 << 20)
            except BlockingIOError:
                break
        await writer.join()

    try:
        with Recorder() as recorder:
            EventLoop().run_until_complete(main(), join=True)
    finally:
        left.close()
        right.close()
    names = recorder.names()
    recv = [n for n in names if n.startswith("on_socket_recv")]
    assert recv == ["on_socket_recv_start", "on_socket_recv_ready", "on_socket_recv_data"]
    send = [n for n in names if n.startswith("on_socket_send")]
    assert send[:2] == ["on_socket_send_start", "on_socket_send_ready"] and send[-1] == "on_socket_send_data"
    [(recv_start,)] = recorder.calls("on_socket_recv_start")
    assert recv_start.socket_handle is left and recv_start.immediate is False


# ---------------------------------------------------------------------------------------- activation


def test_nothing_fires_when_no_instrument_is_active():
    recorder = Recorder()

    async def main():
        assert active_loop_instrument() is None
        assert current_event_loop()._instrument is None
        queue: AsyncQueue[int] = AsyncQueue()
        await queue.put(1)
        await queue.get()
        await spawn(sleep(1))

    with recorder:
        pass  # entered and left before the run
    run_virtual(main())
    assert recorder.log == []
    assert active_loop_instrument() is None
    noop = get_current_instrument()
    assert type(noop) is EventLoopInstrument  # a no-op stand-in
    noop.on_task_completed(None, None)  # does nothing


def test_instrument_is_inactive_again_after_its_with_block():
    recorder = Recorder()
    with recorder:
        run_virtual(sleep(0))
    count = len(recorder.log)
    assert count > 0
    run_virtual(sleep(0))
    assert len(recorder.log) == count


def test_nested_instruments_are_called_innermost_first_and_unwound_in_order():
    log: list = []
    outer, inner = Recorder("outer", log), Recorder("inner", log)

    async def main():
        queue: AsyncQueue[int] = AsyncQueue()
        await queue.put(1)

    with outer:
        with inner:
            assert active_loop_instrument() is not None
            run_virtual(main())
        assert active_loop_instrument() is outer
    assert active_loop_instrument() is None
    tags_per_call = [tag for tag, name, _ in log if name == "on_queue_put"]
    assert tags_per_call == ["inner", "outer"]
    # every hook reached both, inner first
    pairs = list(zip(log[::2], log[1::2]))
    assert all(a[0] == "inner" and b[0] == "outer" and a[1:] == b[1:] for a, b in pairs)


def test_the_same_instrument_can_be_entered_twice():
    recorder = Recorder()
    with recorder:
        with recorder:
            run_virtual(sleep(0))
        assert active_loop_instrument() is recorder
    assert active_loop_instrument() is None
    # active twice: every hook is seen twice
    assert recorder.names().count("on_task_spawned") == 2


def test_an_instrument_entered_inside_a_task_sees_that_tasks_queue_events():
    recorder = Recorder()
    queue: AsyncQueue[str] = AsyncQueue()

    async def main():
        await queue.put("before")
        with recorder:
            await queue.put("during")
        await queue.put("after")

    run_virtual(main())
    assert recorder.calls("on_queue_put") == [(queue, "during", True)]


@pytest.mark.parametrize("hook", HOOKS)
def test_base_hooks_are_no_ops(hook):
    args = {"on_task_after_send": 2, "on_task_after_throw": 2, "on_task_completed": 2, "on_task_error": 2,
            "on_task_cancelled": 2, "on_task_spawned": 2, "on_queue_get": 3, "on_queue_put": 3}.get(hook, 1)  # fmt: skip
    assert getattr(EventLoopInstrument(), hook)(*([None] * args)) is None
