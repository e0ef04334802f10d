"""Run control: per-node policies (retries, timeouts, error handling), run reports, checkpoints."""
