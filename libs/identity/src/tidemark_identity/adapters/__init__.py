"""The identity tables and their queries (SQL, through SQLAlchemy's asyncio engine)."""
