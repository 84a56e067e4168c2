"""Tidemark ingest: tracker HTTP API, SQL store, outbox relay."""
