"""Library logging: loggers under "flowno_core" with a NullHandler (SPEC §0.2, §1.1).

The FLOWNO_LOG_* environment variables keep flowno's meaning: FLOWNO_LOG_LEVEL (default ERROR),
FLOWNO_LOG_TAG_FILTER (comma list matched against ``record.tag``; "all" lets everything through),
FLOWNO_LOG_FILE, FLOWNO_LOG_CONSOLE ("false" disables the console handler) and
FLOWNO_LOG_PROPAGATE. Handlers are added only when one of these variables is set.

flowno's loggers were "flowno" and "flowno.<module>"; the rename rule of the migration holds for
logging configuration too: whatever was set on "flowno" is set on "flowno_core", the parent of
every flowno_core logger. ``LOG_LEVEL``, ``TagFilter`` and ``log_async`` keep flowno's names
(``flowno_core.LOG_LEVEL``, ``flowno_core.utilities.logging``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import types
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

logger = logging.getLogger("flowno_core")
logger.addHandler(logging.NullHandler())
_async_logger = logging.getLogger("flowno_core.utilities.logging")

#: flowno's name for the configured level: FLOWNO_LOG_LEVEL upper-cased, "ERROR" when unset
LOG_LEVEL = (os.environ.get("FLOWNO_LOG_LEVEL") or "ERROR").upper()


class TagFilter(logging.Filter):
    """Keep records whose ``tag`` attribute is in ``tags`` (or everything with "all")."""

    def __init__(self, tags: list[str]) -> None:
        super().__init__()
        self.tags = tags

    def filter(self, record: logging.LogRecord) -> bool:
        if "all" in self.tags:
            return True
        return str(getattr(record, "tag", "all")).lower() in self.tags


def _is_false(value: str) -> bool:
    return value.strip().lower() in ("false", "0", "no", "off")


def configure_from_environment(environ: dict[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    level_text = env.get("FLOWNO_LOG_LEVEL")
    log_file = env.get("FLOWNO_LOG_FILE")
    console = env.get("FLOWNO_LOG_CONSOLE")
    propagate = env.get("FLOWNO_LOG_PROPAGATE")
    if propagate is not None:
        logger.propagate = not _is_false(propagate)
    if not (level_text or log_file or console):
        return
    level = (level_text or "ERROR").upper()
    logger.setLevel(level)
    tags = [tag.strip().lower() for tag in env.get("FLOWNO_LOG_TAG_FILTER", "ALL").split(",")]
    formatter = logging.Formatter("%(asctime)s - %(levelname)s:%(name)s:%(message)s")
    for handler in list(logger.handlers):
        if not isinstance(handler, logging.NullHandler):
            logger.removeHandler(handler)
    handlers: list[logging.Handler] = []
    if console is None or not _is_false(console):
        handlers.append(logging.StreamHandler())
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    for handler in handlers:
        handler.setLevel(level)
        handler.addFilter(TagFilter(tags))
        handler.setFormatter(formatter)
        logger.addHandler(handler)


configure_from_environment()


def log_async(func: Callable[P, R]) -> Callable[P, R]:
    """Log, at DEBUG, each call of an async function or async generator function and what it does.

    flowno's debugging decorator (``flowno.utilities.logging.log_async``): the call with its
    arguments, every command the coroutine yields to the loop, every value an async generator
    yields, and the result or exception, on the logger "flowno_core.utilities.logging".

    Example::

        @log_async
        async def fetch(n: int) -> int:
            await sleep(0.1)
            return n
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        text = f"{func.__name__}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})"
        _async_logger.debug("Calling function: %s", text)
        result = func(*args, **kwargs)
        if inspect.iscoroutine(result):
            return cast(R, _logged_coroutine(result, text))
        if inspect.isasyncgen(result):
            return cast(R, _logged_async_generator(result, text))
        _async_logger.warning("Function %s is not a coroutine or async generator", text)
        return result

    return wrapper


async def _logged_coroutine(coroutine: Coroutine[Any, Any, Any], text: str) -> Any:
    return await _stepped(coroutine, text)


@types.coroutine
def _stepped(coroutine: Coroutine[Any, Any, Any], text: str) -> Generator[Any, Any, Any]:
    """Drive ``coroutine`` one loop command at a time, logging each command and the ending."""
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            command = coroutine.send(sent) if thrown is None else coroutine.throw(thrown)
        except StopIteration as stop:
            _async_logger.debug("Finished coroutine: %s with result %r", text, stop.value)
            return stop.value
        except BaseException as exc:
            _async_logger.debug("Coroutine %s raised %r", text, exc)
            raise
        _async_logger.debug("Coroutine %s yielded %r", text, command)
        try:
            sent, thrown = (yield command), None
        except BaseException as exc:  # thrown in by the loop (cancellation): pass it on
            sent, thrown = None, exc


async def _logged_async_generator(generator: AsyncGenerator[Any, Any], text: str) -> AsyncGenerator[Any, Any]:
    sent: Any = None
    try:
        while True:
            try:
                item = await generator.asend(sent)
            except StopAsyncIteration:
                _async_logger.debug("Async generator %s completed", text)
                return
            _async_logger.debug("Async generator %s yielded %r", text, item)
            sent = yield item
    finally:
        await generator.aclose()
