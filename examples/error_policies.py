"""Failures, retries and time limits: what each run-control option does, and the run report.

Run it with ``python examples/error_policies.py``. It finishes at once: the flow runs on a
``VirtualClock``, so the retry delays and the stuck service's hour take no wall time, yet every
delay and time-out is measured exactly as in real time.

The flow (an order summary from unreliable services)::

    FetchOrders (retries=3, backoff 1 s, 2 s...) --> Total --> Convert --> Summary
    FetchRates (on_error="skip") ----------------(optional)----/          /
    FetchStock (timeout=2.0, on_error="continue") ---------(optional)-----/
    Total --> gate(total > 100) --> Alert
    Delivery (raises SkipGeneration on a Sunday)

* ``FetchOrders`` fails twice with a ``ConnectionError``, then answers: its retries fix it (the
  report counts 3 attempts over 3.0 s of virtual time).
* ``FetchRates`` fails with a ``ConnectionError``; ``on_error="skip"`` tolerates the failure (it is
  not an error of the run) and ``Convert`` takes the default rate of its ``optional`` port.
* ``FetchStock`` hangs; ``timeout=2.0`` cuts it (a ``NodeTimeoutError``) and ``on_error="continue"``
  lets the run go on, but a failure under ``"continue"``, like any time-out, is an error of the run:
  ``report.ok`` is false and ``report.raise_for_errors()`` would raise ``RunFailed``.
* ``gate`` lets the total through only when it is over 100; ``Delivery`` skips its generation on
  purpose with ``SkipGeneration``: neither is a failure.
"""

from __future__ import annotations

from flowno_core import FlowHDL, SkipGeneration, Skipped, VirtualClock, node, sleep
from flowno_nodes import gate

tries: list[float] = []  # the virtual time of each try of FetchOrders


def build(clock: VirtualClock) -> FlowHDL:
    @node(retries=3, retry_delay=1.0, retry_backoff=2.0)
    async def FetchOrders() -> list[float]:
        tries.append(clock.now())
        if len(tries) < 3:
            raise ConnectionError("the shop API is unavailable")
        return [40.0, 35.5, 60.0]

    @node(on_error="skip")
    async def FetchRates() -> dict[str, float]:
        raise ConnectionError("the rates service is down")

    @node(timeout=2.0, on_error="continue")
    async def FetchStock() -> int:
        await sleep(3600)  # a service that never answers
        return 12

    @node
    async def Total(orders: list[float]) -> float:
        return sum(orders)

    @node(optional=["rates"])
    async def Convert(total: float, rates: dict[str, float] = {"EUR": 1.0}) -> str:  # noqa: B006
        return f"{total * rates['EUR']:.2f} EUR"

    @node
    async def Alert(total: float) -> str:
        return f"big day: {total:.2f} in orders"

    @node
    async def Delivery(day: str) -> str:
        if day == "Sun":
            raise SkipGeneration(f"no delivery on {day}")
        return f"delivery on {day}"

    @node(optional=["stock"])
    async def Summary(converted: str, stock: int | None = None) -> str:
        return f"orders worth {converted}; stock {'unknown' if stock is None else stock}"

    with FlowHDL(clock=clock) as f:
        f.orders = FetchOrders()
        f.rates = FetchRates()
        f.total = Total(f.orders)
        f.converted = Convert(f.total, f.rates)
        f.stock = FetchStock()
        f.summary = Summary(f.converted, f.stock)
        f.big = gate(f.total, lambda total: total > 100)
        f.alert = Alert(f.big)
        f.delivery = Delivery("Sun")
    return f


def describe(value: object) -> str:
    if isinstance(value, Skipped):
        why = "an error of the run" if value.failed else "tolerated"
        return f"skipped, {why} ({type(value.error).__name__}: {value.error})"
    return repr(value[0])  # type: ignore[index]


def main() -> None:
    clock = VirtualClock()
    f = build(clock)
    report = f.run_until_complete()

    print(f"FetchOrders tried at t = {tries} (virtual seconds)")
    for name in ("rates", "stock", "summary", "alert", "delivery"):
        print(f"{name}: {describe(getattr(f, name).get_data())}")
    print(f"report.ok = {report.ok}; errors: {[(r.node_name, r.status.value) for r in report.errors]}")
    print(report.summary())


if __name__ == "__main__":
    main()
