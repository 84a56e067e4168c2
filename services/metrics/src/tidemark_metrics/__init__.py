"""Tidemark metrics: incremental attainment aggregates in Redis."""
