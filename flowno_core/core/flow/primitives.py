"""flowno's module path ``flowno.core.flow.primitives``: the same names, from flowno_core's own modules."""

