"""flowno's module path ``flowno.core.flow.types``: the same names, from flowno_core's own modules."""

