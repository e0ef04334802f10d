"""flowno's module path ``flowno.decorators.wrappers``: the same names, from flowno_core's own modules."""

