"""Shared plumbing of every Tidemark process: settings, backends, Kafka policy, auth, stack runner."""
