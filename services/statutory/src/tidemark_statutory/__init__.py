"""Tidemark statutory: statutory eligibility, measures and progress categories."""
