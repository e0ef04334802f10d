"""flowno's module path ``flowno.core``: the same names, from flowno_core's own modules."""

