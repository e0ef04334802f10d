"""flowno's module path ``flowno.core.event_loop.commands``: the same names, from flowno_core's own modules."""

