"""Ingest's use cases, one module per area: `tracker` takes what a school tracker sends (each batch
validated whole, stored with its events in one transaction), `replay` serves the current facts to
projections that rebuild. The rules are the domain's; `bootstrap` builds the use cases."""
