"""Socket readiness: one selector per loop, one reader and one writer per socket.

Theory of operation: ``WaitIO(sock, for_write)`` parks the task in an ``IOWaiter`` slot of the
socket's registration. The registration's event mask is always exactly the set of directions
somebody waits for; when it becomes empty the socket is unregistered, so a closed socket never
lingers in the selector. Readiness wakes the waiting task(s) and drops their direction (one-shot).
Aborting (cancellation) drops the direction too. A second waiter in a direction that is already
taken is refused with RuntimeError (two readers on one socket would steal each other's data).

The selector and the loop's wake-up socketpair exist only while the loop runs; both are closed at
the end of every run, so a finished loop holds no file descriptors.
"""

from __future__ import annotations

import selectors
import socket
from typing import Any

from .parking import reschedule
from .task import Task

READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class IOWaiter:
    """The waitable for one direction of one socket."""

    __slots__ = ("mux", "fileobj", "for_write", "task", "handle")

    def __init__(self, mux: "IOMultiplexer", fileobj: Any, for_write: bool, handle: Any) -> None:
        self.mux = mux
        self.fileobj = fileobj
        self.for_write = for_write
        self.task: Task | None = None
        self.handle = handle

    def park(self, task: Task) -> None:
        self.task = task

    def abort(self, task: Task) -> None:
        self.mux.drop(self)

    def describe(self) -> str:
        return f"socket {'writable' if self.for_write else 'readable'} ({self.fileobj!r})"


class IOMultiplexer:
    """Owns the selector and the wake-up socketpair of one run of one loop."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, READ, None)
        self.waiting = 0  # number of parked IOWaiters
        self._registered: dict[Any, list[IOWaiter | None]] = {}  # our own view: no KeyError reprs
        self._closed = False
        self.polling = False  # blocked in select: even the loop's own thread must wake it (a signal handler)

    # -- registering ---------------------------------------------------------------------------
    def add(self, fileobj: Any, for_write: bool, handle: Any) -> IOWaiter:
        """Create the waiter for one direction; raises RuntimeError if that direction is taken."""
        waiter = IOWaiter(self, fileobj, for_write, handle)
        slots = self._registered.get(fileobj)
        if slots is None:
            slots = [None, None]
            slots[for_write] = waiter
            try:
                self.selector.register(fileobj, WRITE if for_write else READ, slots)
            except ValueError as error:  # closed socket (fileno() == -1)
                raise OSError(9, f"cannot wait on a closed socket: {error}") from None
            self._registered[fileobj] = slots
        else:
            if slots[for_write] is not None:
                direction = "write" if for_write else "read"
                raise RuntimeError(
                    f"another task is already waiting to {direction} on {fileobj!r}; "
                    "only one reader and one writer may wait on a socket at a time"
                )
            slots[for_write] = waiter
            self.selector.modify(fileobj, READ | WRITE, slots)
        self.waiting += 1
        return waiter

    def drop(self, waiter: IOWaiter) -> None:
        """Forget a waiter (readiness seen, cancelled, or the socket is closing)."""
        if waiter.task is None and waiter.fileobj is None:
            return
        waiter.task = None
        fileobj, waiter.fileobj = waiter.fileobj, None
        self.waiting -= 1
        slots = self._registered.get(fileobj)
        if slots is None:
            return
        if slots[waiter.for_write] is waiter:
            slots[waiter.for_write] = None
        events = (READ if slots[0] is not None else 0) | (WRITE if slots[1] is not None else 0)
        try:
            if events:
                self.selector.modify(fileobj, events, slots)
            else:
                del self._registered[fileobj]
                self.selector.unregister(fileobj)
        except (KeyError, ValueError):  # the socket was closed under us: nothing left to unregister
            self._registered.pop(fileobj, None)

    def forget_fileobj(self, fileobj: Any, error: BaseException | None) -> None:
        """A socket is being closed: wake its waiters (with ``error``) and unregister it."""
        slots = self._registered.get(fileobj)
        if slots is None:
            return
        for waiter in list(slots):
            if waiter is not None:
                task = waiter.task
                self.drop(waiter)
                if task is not None:
                    reschedule(task, None, error)

    # -- polling -------------------------------------------------------------------------------
    def poll(self, timeout: float | None) -> int:
        """Wait for readiness up to ``timeout``; wake ready tasks; returns how many woke."""
        woken = 0
        self.polling = True
        try:
            ready = self.selector.select(timeout)
        finally:
            self.polling = False
        for key, mask in ready:
            slots = key.data
            if slots is None:
                self._drain_wakeup()
                continue
            for for_write, bit in ((False, READ), (True, WRITE)):
                waiter = slots[for_write]
                if waiter is not None and mask & bit:
                    task = waiter.task
                    self.drop(waiter)
                    if task is not None:
                        reschedule(task)
                        woken += 1
        return woken

    def _drain_wakeup(self) -> None:
        try:
            while self.wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def wake(self) -> None:
        """Make a blocked ``poll`` return (thread-safe; used by other threads and signals)."""
        try:
            self.wake_w.send(b"\0")
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.selector.close()
        self.wake_r.close()
        self.wake_w.close()
