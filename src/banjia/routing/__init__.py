"""Aliases, fallback chains, retries, circuit breaking and health."""
