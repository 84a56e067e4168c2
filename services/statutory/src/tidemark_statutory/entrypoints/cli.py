"""`tidemark-statutory`: run the statutory consumer (and its /healthz) under uvicorn, or operate on
its projection.

    tidemark-statutory                    serve (the default)
    tidemark-statutory reconcile [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
    tidemark-statutory rebuild [--trust-id T ...] [--keep-previous] [--grace-seconds S]
                                          recompute the projection from ingest's replay
                                          (INGEST_URL, REPLAY_TOKEN) into a fresh generation,
                                          check it, switch readers to it, drop the previous one;
                                          safe while the consumers run
"""

from __future__ import annotations

import sys

from tidemark_runtime.projections import service
from tidemark_statutory.service import SERVICE


def main(argv: list[str] | None = None) -> int:
    return service.main(SERVICE, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
