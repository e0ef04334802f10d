"""The marker a node publishes for a generation it did not compute (run control, on_error).

Theory of operation: under ``on_error="skip"`` or ``"continue"`` a node whose code failed for good
publishes a ``Skipped`` marker as its value for that generation, so generations advance and the
staleness rule stays the only rule. A consumer that gathers a marker on a port not listed in
``optional=[...]`` does not run its code: it publishes the same marker for its own next generation
(a stream reader is stopped the same way), so the whole downstream of the failure skips that
generation, through streams and cycles. An optional port takes its default instead. The marker
keeps where it came from: a node that receives a marker it started itself (around a cycle) stops
there instead of passing it round again.
"""

from __future__ import annotations

from typing import Any

from ...errors import SkipGeneration


class Skipped:
    """The value of a generation a node skipped: ``node.get_data()`` returns it for that generation.

    ``origin`` is the node whose code failed, ``generation`` the generation it failed at, ``error``
    the exception, and ``failed`` says whether the policy was ``"continue"`` (an error of the run)
    rather than ``"skip"`` (a tolerated failure). It is falsy.
    """

    __slots__ = ("origin", "generation", "error", "failed")

    def __init__(self, origin: Any, generation: tuple[int, ...] | None, error: BaseException, failed: bool) -> None:
        self.origin = origin
        self.generation = generation
        self.error = error
        self.failed = failed

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        if isinstance(self.error, SkipGeneration):  # asked for by the node's code: not a failure
            return f"<skipped: {self.origin!r} skipped generation {self.generation}: {self.error}>"
        return f"<skipped: {self.origin!r} failed at generation {self.generation}: {self.error!r}>"


class InputSkipped(Exception):
    """Raised by gathering when an input (not optional) holds a marker: the node skips too."""

    def __init__(self, marker: Skipped) -> None:
        super().__init__(marker)
        self.marker = marker


class StreamSkipped(BaseException):
    """Raised into a node reading a stream whose lap ended with a marker (a BaseException, so the
    node's own ``except Exception`` does not swallow it): the reader skips that generation too."""

    def __init__(self, marker: Skipped) -> None:
        super().__init__(marker)
        self.marker = marker
