"""Signals (D10): SIGTERM keeps its disposition during a run (with the default one it kills the
process, even while the loop waits in select); Ctrl-C cancels the run, runs the tasks' `finally`
blocks (which may await, as at any end of a run) and raises KeyboardInterrupt; a second Ctrl-C
hurries a clean-up, or raises at once if the loop has not acted on the first; previous handlers
are restored; a loop running on another thread installs no handler. Real signals are sent to a
subprocess."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from flowno_core import EventLoop, current_event_loop, sleep, to_thread

pytestmark = pytest.mark.timeout(60)

WAIT = 30  # seconds: a safety net against a hung child, never a timing assertion


def start_child(body: str) -> subprocess.Popen[str]:
    script = "import signal, sys, threading\nfrom flowno_core import *\n" + textwrap.dedent(body)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.kill()
        _, err = proc.communicate(timeout=WAIT)
        pytest.fail(f"child did not get ready: {line!r}\n{err}")
    return proc


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"child hung\nstdout: {out}\nstderr: {err}")
    return proc.returncode, out, err


# ---------------------------------------------------------------------------------------- SIGTERM


@pytest.mark.parametrize(
    "wait",
    [
        "await Event().wait()",  # blocked in select with nothing that could wake it
        "await sleep(3600)",  # blocked in select until a far timer
    ],
)
def test_sigterm_during_a_run_kills_the_process(wait):
    proc = start_child(
        f"""
        async def main():
            print("READY", flush=True)
            {wait}
            print("survived", flush=True)

        EventLoop().run_until_complete(main())
        print("returned", flush=True)
        """
    )
    proc.send_signal(signal.SIGTERM)
    code, out, _ = finish(proc)
    assert code == -signal.SIGTERM
    assert out == ""


def test_sigterm_keeps_a_custom_handler_during_the_run():
    proc = start_child(
        """
        got = threading.Event()

        def on_term(signum, frame):
            got.set()

        signal.signal(signal.SIGTERM, on_term)

        async def main():
            print("READY", flush=True)
            await to_thread(got.wait)  # the handler runs, the loop is not involved
            return "handled"

        print(EventLoop().run_until_complete(main(), join=True), flush=True)
        print("restored", signal.getsignal(signal.SIGTERM) is on_term, flush=True)
        """
    )
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 0, err
    assert out.split("\n")[:2] == ["handled", "restored True"]


def test_a_signal_handler_can_wake_a_loop_waiting_in_select_through_call_soon_threadsafe():
    # the handler runs on the loop's own thread while the loop is blocked in select: the call must
    # still wake it (a graceful-stop recipe: SIGTERM sets an Event the main task waits for)
    proc = start_child(
        """
        import time
        loop = EventLoop()
        stop = Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: loop.call_soon_threadsafe(stop.set_nowait))

        def ready_once_blocked():
            while loop._mux is None or not loop._mux.polling:
                time.sleep(0.001)
            print("READY", flush=True)

        async def main():
            threading.Thread(target=ready_once_blocked, daemon=True).start()
            await stop.wait()
            return "stopped"

        print(loop.run_until_complete(main(), join=True), flush=True)
        """
    )
    proc.send_signal(signal.SIGTERM)
    code, out, err = finish(proc)
    assert code == 0, err
    assert out.strip() == "stopped"


# ---------------------------------------------------------------------------------------- SIGINT


def test_ctrl_c_cancels_the_run_runs_finally_blocks_and_raises_keyboard_interrupt():
    proc = start_child(
        """
        trace = []

        async def child():
            try:
                await sleep(3600)
            finally:
                trace.append("child finally")

        async def main():
            await spawn(child())
            try:
                print("READY", flush=True)
                await Event().wait()
            finally:
                trace.append("root finally")

        int_before = signal.getsignal(signal.SIGINT)
        term_before = signal.getsignal(signal.SIGTERM)
        try:
            EventLoop().run_until_complete(main(), join=True)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", sorted(trace), flush=True)
            print("restored", signal.getsignal(signal.SIGINT) is int_before,
                  signal.getsignal(signal.SIGTERM) is term_before, flush=True)
        else:
            print("no KeyboardInterrupt", flush=True)
        """
    )
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0, err
    assert out.split("\n")[:2] == [
        "KeyboardInterrupt ['child finally', 'root finally']",
        "restored True True",
    ]


def start_child_cleaning_up(cleanup: str, loop_setup: str = "") -> subprocess.Popen[str]:
    """A child whose only other task runs ``cleanup`` in its ``finally`` block once Ctrl-C ended
    the run; it prints "KeyboardInterrupt" and its ``trace`` at the end."""
    cleanup = textwrap.indent(textwrap.dedent(cleanup), " " * 16)
    return start_child(
        f"""
        trace = []

        async def child():
            try:
                await sleep(3600)
            finally:
{cleanup}
        async def main():
            await spawn(child())
            print("READY", flush=True)
            await Event().wait()

        loop = EventLoop()
        {loop_setup}
        try:
            loop.run_until_complete(main(), join=True)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", trace, flush=True)
        """
    )


def test_after_ctrl_c_a_cleanup_can_await():
    proc = start_child_cleaning_up(
        """
        trace.append("cleanup start")
        await sleep(0.01)  # the one cancel of Ctrl-C; awaiting in finally works
        trace.append("cleanup end")
        """
    )
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0, err
    assert out == "KeyboardInterrupt ['cleanup start', 'cleanup end']\n"


def test_a_second_ctrl_c_hurries_a_long_cleanup():
    proc = start_child_cleaning_up(
        """
        print("CLEANING", flush=True)
        try:
            await sleep(3600)
        except GeneratorExit:
            trace.append("closed")
            raise
        trace.append("cleanup end")
        """,
        loop_setup="loop.cleanup_timeout = None  # only the second Ctrl-C can end this clean-up",
    )
    proc.send_signal(signal.SIGINT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "CLEANING\n":
        proc.kill()
        pytest.fail(f"unexpected output {line!r}")
    proc.send_signal(signal.SIGINT)  # the loop acted on the first: this one hurries the clean-up
    code, out, err = finish(proc)
    assert code == 0, err
    assert out == "KeyboardInterrupt ['closed']\n"


def test_a_second_ctrl_c_interrupts_a_task_that_never_yields():
    proc = start_child(
        """
        async def busy():
            print("READY", flush=True)
            while True:
                pass

        try:
            EventLoop().run_until_complete(busy())
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """
    )
    # the first Ctrl-C asks the loop to stop, but the task never yields to it; a later one raises
    # at once. Keep pressing until the child is done (no timing assumption).
    while True:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            continue
    code, out, err = finish(proc)
    assert code == 0, err
    assert out == "KeyboardInterrupt\n"


def test_a_custom_sigint_handler_is_left_alone():
    proc = start_child(
        """
        got = threading.Event()

        def on_int(signum, frame):
            got.set()

        signal.signal(signal.SIGINT, on_int)

        async def main():
            print("READY", flush=True)
            await to_thread(got.wait)
            return "custom handler ran; the run was not cancelled"

        print(EventLoop().run_until_complete(main(), join=True), flush=True)
        print("still installed", signal.getsignal(signal.SIGINT) is on_int, flush=True)
        """
    )
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 0, err
    assert out.split("\n")[:2] == ["custom handler ran; the run was not cancelled", "still installed True"]


# ---------------------------------------------------------------------------------------- handlers in-process


def test_main_thread_run_routes_sigint_and_restores_the_previous_handlers():
    int_before = signal.getsignal(signal.SIGINT)
    term_before = signal.getsignal(signal.SIGTERM)
    assert int_before is signal.default_int_handler  # pytest leaves Python's default in place
    seen = {}

    async def main():
        seen["int"] = signal.getsignal(signal.SIGINT)
        seen["term"] = signal.getsignal(signal.SIGTERM)
        await sleep(0)

    EventLoop().run_until_complete(main(), join=True)
    assert seen["int"] is not int_before  # the loop's Ctrl-C routing
    assert seen["term"] is term_before  # SIGTERM untouched
    assert signal.getsignal(signal.SIGINT) is int_before
    assert signal.getsignal(signal.SIGTERM) is term_before


def test_handlers_are_restored_when_the_run_fails():
    int_before = signal.getsignal(signal.SIGINT)

    async def main():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        EventLoop().run_until_complete(main(), join=True)
    assert signal.getsignal(signal.SIGINT) is int_before


def test_a_loop_on_another_thread_installs_no_handler():
    seen = {}

    async def main():
        seen["int"] = signal.getsignal(signal.SIGINT)
        seen["loop"] = current_event_loop()
        await to_thread(lambda: None)

    loop = EventLoop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    thread.join()
    assert seen == {"int": signal.default_int_handler, "loop": loop}
