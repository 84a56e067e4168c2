"""One projection engine for every per-pupil read model (metrics, statutory, attendance, ...).

A projection is a set of pure rules (`rules.Projection`); the engine (`engine.py`, `state.py`,
`writer.py`) batches, reads, recomputes, writes atomically under version guards and generations;
`operations.py` reconciles and rebuilds any projection from ingest's replay (`replay.py`);
`service.py` runs one as a consumer process with its command line.
"""
