"""flowno's module path ``flowno.utilities.coroutine_wrapper``: the same names, from flowno_core's own modules."""

