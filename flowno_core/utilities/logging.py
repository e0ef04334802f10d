"""flowno's module path ``flowno.utilities.logging``: the same names, from flowno_core's own modules.

``LOG_LEVEL`` and ``TagFilter`` (flowno kept them on its top-level module) are here as well.
"""

from .._logging import LOG_LEVEL, TagFilter, log_async

__all__ = [
    "LOG_LEVEL",
    "TagFilter",
    "log_async",
]
