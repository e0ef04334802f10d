"""flowno's module path ``flowno.utilities``: the same names, from flowno_core's own modules."""

