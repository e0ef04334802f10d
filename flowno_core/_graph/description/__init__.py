"""See flowno_core._graph."""
