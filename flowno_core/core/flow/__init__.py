"""flowno's module path ``flowno.core.flow``: the same names, from flowno_core's own modules."""

