"""Library logging: loggers under "flowno_core" with a NullHandler (SPEC §0.2, §1.1).

The FLOWNO_LOG_* environment variables keep flowno's meaning: FLOWNO_LOG_LEVEL (default ERROR),
FLOWNO_LOG_TAG_FILTER (comma list matched against ``record.tag``; "all" lets everything through),
FLOWNO_LOG_FILE, FLOWNO_LOG_CONSOLE ("false" disables the console handler) and
FLOWNO_LOG_PROPAGATE. Handlers are added only when one of these variables is set.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("flowno_core")
logger.addHandler(logging.NullHandler())


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
