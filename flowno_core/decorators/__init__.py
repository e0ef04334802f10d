"""flowno's module path ``flowno.decorators``: the same names, from flowno_core's own modules."""

# through the submodule, as flowno did: importing flowno_core.decorators.node later then leaves the
# package's ``node`` the decorator, not the submodule
from .node import node

__all__ = [
    "node",
]
