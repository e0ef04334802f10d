"""The live dashboard: a page that shows flows while they run (``Dashboard``, ``run --dashboard``).

``instrument`` is the flow's side (hooks that send compact snapshots, throttled), ``server`` the
dashboard's own thread (an ``HttpServer`` with the page and a server-sent event stream), ``layout``
the pure graph layout the page draws, and ``assets/`` the page itself (HTML, CSS and JavaScript,
no external code). See docs/dashboard.md.
"""

from .instrument import Dashboard

__all__ = ["Dashboard"]
