"""`tidemark-metrics`: run the metrics consumer (and its /healthz) under uvicorn, or operate on its state.

    tidemark-metrics                      serve (the default)
    tidemark-metrics reconcile [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
    tidemark-metrics rebuild [--trust-id T ...] [--keep-previous] [--grace-seconds S]
                                          recompute the aggregates from ingest's replay
                                          (INGEST_URL, REPLAY_TOKEN) into a fresh generation,
                                          check it, switch readers to it, drop the previous one;
                                          safe while the consumers run
"""

from __future__ import annotations

import sys

from tidemark_metrics.service import SERVICE
from tidemark_runtime.projections import service


def main(argv: list[str] | None = None) -> int:
    return service.main(SERVICE, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
