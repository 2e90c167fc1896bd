"""A fault-injecting upstream for tests (filled in by the upstream work)."""
