"""Per-node run-control options: what ``@node(...)`` and ``FlowHDL(...)`` set, and what applies.

Theory of operation: ``NodeOptions`` holds what one place set (a node's decorator, or a flow's
defaults): a dict of the options it named. ``resolve(node_options, flow_options)`` gives the
``Policy`` that applies to a node: the node's setting, else the flow's, else the built-in default.
A node whose policy is the default in every respect gets ``None`` instead, and the runtime takes
its plain path (no timeout scope, no retry loop, no report bookkeeping beyond one append).

Options are checked where they are written: a bad value raises ``NodeConfigurationError`` naming
the option, the node (or flow) and what is allowed. ``Policy.delay`` is the wait before a retry:
``retry_delay * retry_backoff ** (attempt - 1)``, capped by ``retry_max_delay``, spread by
``retry_jitter`` (a fraction: 0.1 draws from +-10%), and never shorter than a ``Retry-After`` the
error carries (an ``HTTPException`` from a 429 or 503 has ``retry_after`` in seconds).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ...errors import NodeConfigurationError

if TYPE_CHECKING:
    import random


ON_ERROR = ("stop", "continue", "skip")
PRIORITIES = ("high", "normal", "low")  # (their order among runnable nodes: ``runtime.records.RANKS``)


class ControlOptions(TypedDict, total=False):
    """The run-control keywords ``FlowHDL(...)`` and ``Flow(...)`` accept as defaults for their nodes."""

    retries: int
    retry_delay: float
    retry_backoff: float
    retry_max_delay: float
    retry_jitter: float
    retry_on: type[Exception] | tuple[type[Exception], ...]
    timeout: float | None
    chunk_timeout: float | None
    on_error: Literal["stop", "continue", "skip"]
    critical: bool
    cache: bool
    priority: Literal["high", "normal", "low"]


NodeOptions = dict[str, Any]
"""Run-control options as one place wrote them: only the options it set (see ``checked_options``)."""

_DEFAULTS: dict[str, Any] = {
    "retries": 0,
    "retry_delay": 1.0,
    "retry_backoff": 2.0,
    "retry_max_delay": 60.0,
    "retry_jitter": 0.0,
    "retry_on": (Exception,),
    "timeout": None,
    "chunk_timeout": None,
    "on_error": "stop",
    "critical": False,
    "cache": False,
    "priority": "normal",
}


def checked_options(owner: str, **given: Any) -> NodeOptions:
    """The options ``given`` (only those set: ``**`` keywords), each checked; ``owner`` names where
    they were written (in error messages)."""
    unknown = sorted(set(given) - set(_DEFAULTS))
    if unknown:
        raise TypeError(
            f"{owner} got unknown run-control option(s) {', '.join(unknown)}; the options are: {', '.join(_DEFAULTS)}"
        )
    options = dict(given)
    for name, value in options.items():
        _CHECKS[name](owner, name, value)
    if "retry_on" in options:
        options["retry_on"] = _as_exception_tuple(options["retry_on"])
    return options


class Policy:
    """The options that apply to one node (node over flow over the defaults)."""

    __slots__ = tuple(_DEFAULTS)

    retries: int
    retry_delay: float
    retry_backoff: float
    retry_max_delay: float
    retry_jitter: float
    retry_on: tuple[type[BaseException], ...]
    timeout: float | None
    chunk_timeout: float | None
    on_error: str
    critical: bool
    cache: bool
    priority: str

    def __init__(self, **options: Any) -> None:
        for name, default in _DEFAULTS.items():
            setattr(self, name, options.get(name, default))

    def __repr__(self) -> str:
        changed = {name: getattr(self, name) for name in _DEFAULTS if getattr(self, name) != _DEFAULTS[name]}
        return "Policy(" + ", ".join(f"{name}={value!r}" for name, value in changed.items()) + ")"

    @property
    def error_policy(self) -> str:
        """What a failure does once retries are spent: ``critical`` forces ``"stop"``."""
        return "stop" if self.critical else self.on_error

    def retries_on(self, error: BaseException) -> bool:
        """Whether ``error`` may be retried (never a cancellation: those are BaseExceptions)."""
        return isinstance(error, Exception) and isinstance(error, self.retry_on)

    def delay(self, attempt: int, error: BaseException | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next one."""
        delay = min(self.retry_max_delay, self.retry_delay * self.retry_backoff ** (attempt - 1))
        if self.retry_jitter:
            draw = (rng or _random()).uniform(-self.retry_jitter, self.retry_jitter)
            delay = max(0.0, delay * (1.0 + draw))
        wanted = retry_after(error)
        if wanted is not None:
            delay = max(delay, wanted)
        return delay


def _random() -> Any:
    """The ``random`` module, whose functions draw from its shared generator (imported on first
    use: most flows never jitter)."""
    import random

    return random


def resolve(node: NodeOptions | None, flow: NodeOptions | None) -> Policy | None:
    """The policy for a node: its own options over the flow's over the defaults; None when that is
    the default policy in every respect (the runtime's plain path)."""
    merged = {**(flow or {}), **(node or {})}
    if all(value == _DEFAULTS[name] for name, value in merged.items()):
        return None
    return Policy(**merged)


def retry_after(error: BaseException | None) -> float | None:
    """The ``Retry-After`` seconds an error (or one of its causes) carries, if any."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        value = getattr(error, "retry_after", None)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            return float(value)
        error = error.__cause__ or error.__context__
    return None


def optional_ports(
    names: Iterable[str] | None, parameters: list[inspect.Parameter], streamed: Iterable[str], owner: str
) -> frozenset[int]:
    """The indices of the ``optional=[...]`` ports. A value port must have a default (the value it
    takes when its producer fails or is skipped); an optional stream port just ends early."""
    if names is None:
        return frozenset()
    if isinstance(names, str):
        names = [names]
    known = [p.name for p in parameters]
    indices = set()
    for name in names:
        if name not in known:
            raise NodeConfigurationError(
                f"@node(optional=[...]) on {owner} names {name!r}, but {owner} has no parameter {name!r} "
                f"(its parameters: {', '.join(known) or 'none'})"
            )
        index = known.index(name)
        if name not in streamed and parameters[index].default is inspect.Parameter.empty:
            raise NodeConfigurationError(
                f"@node(optional=[{name!r}]) on {owner}: parameter {name!r} needs a default value, which it "
                f"takes when its producer fails or is skipped (e.g. `{name}=None`)"
            )
        indices.add(index)
    return frozenset(indices)


# ---------------------------------------------------------------------------------------- checks
def _as_exception_tuple(value: Any) -> tuple[type[BaseException], ...]:
    return (value,) if isinstance(value, type) else tuple(value)


def _refuse(owner: str, name: str, value: Any, allowed: str) -> None:
    raise NodeConfigurationError(f"{name}={value!r} on {owner}: {name} must be {allowed}")


def _count(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        _refuse(owner, name, value, "a whole number >= 0 (how many times to try again after a failure)")


def _seconds(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 or math.isinf(value):
        _refuse(owner, name, value, "a finite number of seconds >= 0")


def _limit(owner: str, name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or math.isinf(value):
        _refuse(owner, name, value, "a number of seconds > 0, or None for no limit")


def _factor(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1 or math.isinf(value):
        _refuse(owner, name, value, "a finite factor >= 1 (1: the same delay every time)")


def _fraction(owner: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        _refuse(owner, name, value, "a fraction between 0 and 1 (0.1 spreads each delay by +-10%)")


def _exception_types(owner: str, name: str, value: Any) -> None:
    try:
        types = _as_exception_tuple(value)
    except TypeError:
        types = ()
    if not types or not all(isinstance(t, type) and issubclass(t, Exception) for t in types):
        _refuse(owner, name, value, "an Exception subclass or a tuple of them (cancellations are never retried)")


def _choice(options: Iterable[str]) -> Any:
    allowed = list(options)

    def check(owner: str, name: str, value: Any) -> None:
        if value not in allowed:
            _refuse(owner, name, value, "one of " + ", ".join(repr(a) for a in allowed))

    return check


def _flag(owner: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        _refuse(owner, name, value, "True or False")


_CHECKS = {
    "retries": _count,
    "retry_delay": _seconds,
    "retry_backoff": _factor,
    "retry_max_delay": _seconds,
    "retry_jitter": _fraction,
    "retry_on": _exception_types,
    "timeout": _limit,
    "chunk_timeout": _limit,
    "on_error": _choice(ON_ERROR),
    "critical": _flag,
    "cache": _flag,
    "priority": _choice(PRIORITIES),
}
