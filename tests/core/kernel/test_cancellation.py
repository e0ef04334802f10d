"""Cancellation in each waiting state (D11): the task gets exactly one TaskCancelled where it
waits, it leaves whatever it waited on (no stale wake-ups), and the primitive goes on working for
the other waiters. Also: a task that was woken (handed a lock, an item...) and cancelled before it
ran keeps what it was handed; the cancel lands at its next checkpoint."""

from __future__ import annotations

import socket as stdsocket
import threading

import pytest

from flowno_core.lowlevel import current_task_object
from flowno_core import (
    AsyncQueue,
    Condition,
    CountdownLatch,
    Event,
    Lock,
    Semaphore,
    SocketHandle,
    TaskCancelled,
    current_event_loop,
    sleep,
    spawn,
    to_thread,
)


def start(coro):
    return current_event_loop().create_task(coro)


async def settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await sleep(0)


class Probe:
    """Runs ``wait()`` in a task that counts the TaskCancelled it receives, then records whatever
    happens afterwards (a stale wake-up would show up as an extra entry)."""

    def __init__(self, wait, after=None):
        self.wait = wait
        self.after = after
        self.events: list[object] = []
        self.handle = None

    async def _body(self):
        try:
            result = await self.wait()
            self.events.append(("returned", result))
        except TaskCancelled:
            self.events.append("cancelled")
        if self.after is not None:
            self.events.append(("after", await self.after()))
        return "probe done"

    async def start(self):
        self.handle = await spawn(self._body())
        await settle()
        assert self.events == [], "the probe should be waiting"
        return self


async def cancel_and_check(probe: Probe) -> None:
    request = probe.handle.cancel()
    assert request
    assert probe.handle.cancel()  # a second cancel is not a second throw
    await settle()
    assert probe.events[0] == "cancelled"


# ---------------------------------------------------------------------------------------- sleep


async def test_cancel_in_sleep(virtual_clock):
    probe = await Probe(lambda: sleep(10), after=lambda: sleep(20)).start()
    await sleep(1)
    await cancel_and_check(probe)
    assert await probe.handle.join() == "probe done"
    # the old deadline (t=10) did not wake the second sleep early
    assert probe.events == ["cancelled", ("after", 20.0)]
    assert virtual_clock.now() == 21


# ---------------------------------------------------------------------------------------- sockets


@pytest.fixture
def socket_pair():
    left, right = stdsocket.socketpair()
    yield SocketHandle(left), SocketHandle(right)
    left.close()
    right.close()


async def test_cancel_in_socket_read(socket_pair):
    left, right = socket_pair
    probe = await Probe(lambda: left.recv(100)).start()
    await cancel_and_check(probe)
    await probe.handle.join()
    # the read direction is free again: a new reader can wait and gets the data
    reader = await spawn(left.recv(100))
    await settle()
    await right.sendAll(b"hello")
    assert await reader.join() == b"hello"
    assert probe.events == ["cancelled"]


async def _fill(sock: stdsocket.socket) -> int:
    sent = 0
    chunk = b"x" * 65536
    while True:
        try:
            sent += sock.send(chunk)
        except BlockingIOError:
            return sent


async def _drain(handle: SocketHandle, total: int) -> bytes:
    data = bytearray()
    while len(data) < total:
        data += await handle.recv(1 << 20)
    return bytes(data)


async def test_cancel_in_socket_write(socket_pair):
    left, right = socket_pair
    filled = await _fill(left.socket)
    probe = await Probe(lambda: left.send(b"blocked")).start()
    await cancel_and_check(probe)
    await probe.handle.join()
    # the write direction is free again: a new writer can wait
    writer = await spawn(left.sendAll(b"END"))
    await settle()
    data = await _drain(right, filled + 3)
    await writer.join()
    assert data.endswith(b"xEND")  # the cancelled send wrote nothing
    assert len(data) == filled + 3
    assert probe.events == ["cancelled"]


# ---------------------------------------------------------------------------------------- event


async def test_cancel_in_event_wait():
    event = Event()
    probe = await Probe(event.wait, after=lambda: sleep(5)).start()
    other = await Probe(event.wait).start()
    await cancel_and_check(probe)
    await event.set()
    await settle()
    assert other.events == [("returned", None)]
    assert await probe.handle.join() == "probe done"
    assert probe.events == ["cancelled", ("after", 5.0)]


async def test_a_cancelled_event_waiter_is_not_counted_as_woken():
    event = Event()
    probe = await Probe(event.wait).start()
    await cancel_and_check(probe)
    assert event.set_nowait() is False  # nobody was waiting any more


# ---------------------------------------------------------------------------------------- lock


async def test_cancel_in_lock_acquire():
    lock = Lock()
    await lock.acquire()
    probe = await Probe(lock.acquire, after=lambda: sleep(1)).start()
    got = []

    async def next_in_line():
        async with lock:
            got.append("next")

    start(next_in_line())
    await settle()
    await cancel_and_check(probe)
    await lock.release()  # goes to the next waiter, not to the cancelled one
    await settle()
    assert got == ["next"]
    assert not lock.is_locked()
    await probe.handle.join()
    assert probe.events == ["cancelled", ("after", 1.0)]


async def test_cancel_of_the_only_lock_waiter_leaves_the_lock_free_after_release():
    lock = Lock()
    await lock.acquire()
    probe = await Probe(lock.acquire).start()
    await cancel_and_check(probe)
    await lock.release()
    assert not lock.is_locked()
    assert lock.owner is None


async def test_a_task_handed_the_lock_then_cancelled_keeps_it_until_its_next_checkpoint():
    lock = Lock()
    trace = []

    async def first():
        try:
            async with lock:
                trace.append("first has the lock")
                await sleep(1)  # the cancel lands here, inside the block
                trace.append("not reached")
        except TaskCancelled:
            trace.append(("first cancelled, lock free", not lock.is_locked() or lock.owner.name != "first"))
            raise

    async def second():
        async with lock:
            trace.append("second has the lock")

    await lock.acquire()
    first_handle = start(first())
    start(second())
    await settle()
    await lock.release()  # hands the lock to `first`, which is now runnable...
    # (release yielded once, so `first` already ran; cancel it while it holds the lock)
    assert first_handle.cancel()
    await settle(10)
    # leaving the block released the lock to `second`, which runs before `first` resumes
    assert trace == ["first has the lock", "second has the lock", ("first cancelled, lock free", True)]
    assert not lock.is_locked()


async def test_a_task_cancelled_right_after_being_handed_the_lock_does_not_lose_it():
    lock = Lock()
    trace = []

    async def waiter():
        await lock.acquire()
        trace.append(("owner", lock.owner is not None))
        try:
            await sleep(0)
        except TaskCancelled:
            trace.append("cancelled at next checkpoint")
            await lock.release()
            raise

    await lock.acquire()
    handle = start(waiter())
    await settle()
    lock._hand_off()  # hand-off without yielding: the waiter is runnable, not run yet
    assert handle.cancel()
    await settle()
    assert trace == [("owner", True), "cancelled at next checkpoint"]
    assert handle.is_cancelled
    assert not lock.is_locked()


# ---------------------------------------------------------------------------------------- condition


async def test_cancel_in_condition_wait_reacquires_the_lock_before_raising():
    cond = Condition()
    trace = []

    async def waiter(name):
        async with cond:
            try:
                await cond.wait()
                trace.append((name, "notified"))
            except TaskCancelled:
                trace.append((name, "cancelled", cond.lock.owner is not None and cond.lock.owner.coro is me[name]))
                raise

    me = {}
    for name in ("a", "b"):
        coro = waiter(name)
        me[name] = coro
        start(coro)
    await settle()
    handle_a = next(t.handle for t in current_event_loop().living_tasks() if t.coro is me["a"])
    await handle_a.cancel()
    assert trace == [("a", "cancelled", True)]
    assert not cond.lock.is_locked()
    async with cond:
        await cond.notify()  # goes to b, the only waiter left
    await settle()
    assert trace == [("a", "cancelled", True), ("b", "notified")]


async def test_cancel_in_condition_after_notify_while_waiting_for_the_lock():
    cond = Condition()
    trace = []

    async def waiter():
        async with cond:
            try:
                await cond.wait()
                trace.append("notified")
            except TaskCancelled:
                trace.append(("cancelled, holding the lock", cond.lock.is_locked()))
                raise

    handle = await spawn(waiter())
    await settle()
    await cond.lock.acquire()
    await cond.notify()  # the waiter now waits for the lock we hold
    await settle()
    assert handle.cancel()
    assert handle.cancel()
    await settle()
    assert trace == []  # it cannot leave wait() before it has the lock again
    await cond.lock.release()
    await handle.cancel()
    assert trace == [("cancelled, holding the lock", True)]
    assert handle.is_cancelled
    assert not cond.lock.is_locked()


# ---------------------------------------------------------------------------------------- queues


async def test_cancel_in_queue_get_does_not_swallow_an_item():
    queue: AsyncQueue[str] = AsyncQueue()
    probe = await Probe(queue.get).start()
    other = await Probe(queue.get).start()
    await cancel_and_check(probe)
    await queue.put("item")
    await settle()
    assert other.events == [("returned", "item")]
    assert probe.events == ["cancelled"]
    assert len(queue) == 0


async def test_cancel_of_the_only_getter_leaves_the_item_in_the_queue():
    queue: AsyncQueue[int] = AsyncQueue()
    probe = await Probe(queue.get).start()
    await cancel_and_check(probe)
    await queue.put(1)
    await settle()
    assert len(queue) == 1
    assert await queue.get() == 1


async def test_a_getter_woken_with_an_item_then_cancelled_keeps_the_item():
    queue: AsyncQueue[str] = AsyncQueue()
    got = []

    async def getter():
        item = await queue.get()
        got.append(item)
        await sleep(0)  # the cancel lands here
        got.append("not reached")

    handle = start(getter())
    await settle()
    queue._append("precious")  # wakes the getter without yielding
    assert handle.cancel()
    await settle()
    assert got == ["precious"]
    assert handle.is_cancelled
    assert len(queue) == 0


async def test_cancel_in_queue_put_on_a_full_queue():
    queue: AsyncQueue[str] = AsyncQueue(maxsize=1)
    await queue.put("first")
    probe = await Probe(lambda: queue.put("cancelled item")).start()
    other = await Probe(lambda: queue.put("second")).start()
    await cancel_and_check(probe)
    assert await queue.get() == "first"
    await settle()
    assert other.events == [("returned", None)]
    assert await queue.get() == "second"
    assert len(queue) == 0
    assert probe.events == ["cancelled"]


# ---------------------------------------------------------------------------------------- join


async def test_cancel_in_join():
    async def target():
        await sleep(10)
        return "target result"

    target_handle = await spawn(target())
    probe = await Probe(target_handle.join, after=lambda: sleep(100)).start()
    await cancel_and_check(probe)
    assert await target_handle.join() == "target result"
    await probe.handle.join()
    assert probe.events == ["cancelled", ("after", 100.0)]


async def test_await_cancel_of_a_joiner():
    async def target():
        await sleep(10)

    target_handle = await spawn(target())
    probe = await Probe(target_handle.join).start()
    assert await probe.handle.cancel() == "probe done"
    assert not target_handle.done


# ---------------------------------------------------------------------------------------- latch / semaphore


async def test_cancel_in_latch_wait():
    latch = CountdownLatch(1)
    probe = await Probe(latch.wait, after=lambda: sleep(3)).start()
    other = await Probe(latch.wait).start()
    await cancel_and_check(probe)
    await latch.count_down()
    await settle()
    assert other.events == [("returned", None)]
    await probe.handle.join()
    assert probe.events == ["cancelled", ("after", 3.0)]


async def test_cancel_in_semaphore_acquire():
    sem = Semaphore(0)
    probe = await Probe(sem.acquire).start()
    other = await Probe(sem.acquire).start()
    await cancel_and_check(probe)
    await sem.release()
    await settle()
    assert other.events == [("returned", None)]
    assert sem.value == 0
    assert probe.events == ["cancelled"]


# ---------------------------------------------------------------------------------------- to_thread


async def test_cancel_in_to_thread_abandons_the_call(real_clock):
    release = threading.Event()
    finished = threading.Event()

    def blocking():
        release.wait(30)
        finished.set()
        return "dropped"

    probe = Probe(lambda: to_thread(blocking), after=lambda: sleep(0))
    probe.handle = await spawn(probe._body())
    await sleep(0)
    await cancel_and_check(probe)  # cancelled at once, while the thread still runs
    assert not finished.is_set()
    release.set()
    await probe.handle.join()
    assert probe.events == ["cancelled", ("after", 0.0)]
    # the thread's completion reaches the loop but wakes nobody
    assert await to_thread(finished.wait, 30) is True
    await sleep(0)
    assert probe.events == ["cancelled", ("after", 0.0)]


async def test_a_cancel_that_arrives_during_a_step_that_spawns_still_hands_over_the_childs_handle(virtual_clock) -> None:
    """The cancel arrives while the task runs (here it cancels itself; a producer stepped inline
    can do the same); the step ends in a spawn: the child starts, the task gets its handle (so it
    can stop the child), and the cancel comes at its next wait."""
    log: list[str] = []

    async def child() -> None:
        try:
            await sleep(60)
        finally:
            log.append("child cleaned up")

    async def spawner() -> None:
        current_task_object().handle.cancel()
        handle = await spawn(child())
        log.append("got the handle")
        try:
            await sleep(60)
        except TaskCancelled:
            log.append("cancelled at the next wait")
            await handle.cancel()
            raise

    task = await spawn(spawner())
    try:
        await task.join()
    except TaskCancelled:
        pass
    assert log == ["got the handle", "cancelled at the next wait", "child cleaned up"]
