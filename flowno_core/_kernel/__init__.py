"""The kernel: tasks, commands, traps, parking, cancellation, clock, timers, selector, threads and
instruments.

Nothing here knows about nodes or flows. See ``loop.py`` for the theory of operation.
"""
