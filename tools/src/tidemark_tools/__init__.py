"""Tidemark's tools: what runs beside the platform, never inside it (the demo Trust generator and
loader, `tidemark-demo`). May use the services' and libraries' code; nothing of theirs uses it."""
