"""Tidemark shared contracts: domain vocabulary, events, topics and the few shared rules.

Everything more than one service must agree on lives here exactly once.
"""
