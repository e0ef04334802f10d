"""flowno's module path ``flowno.utilities.asyncgen_wrapper``: the same names, from flowno_core's own modules."""

