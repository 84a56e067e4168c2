"""Tidemark's identity and access: people and their roles, API keys, sessions, sign-in throttling and
the audit trail, in the one SQL store; and the principal lookup every service authorises through.

`domain/` holds the rules (no I/O), `adapters/sql.py` the tables and queries, `service.py` the use
cases, `lookup.py` the principal lookup a service installs, `cli.py` `tidemark-admin`.
"""
