"""``python -m flowno_core``: see ``flowno_core.cli``."""

from .cli import main

raise SystemExit(main())
