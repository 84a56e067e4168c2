"""`tidemark-metrics`: run the metrics process (the attainment and attendance projections, each its
own consumer group, and /healthz) under uvicorn, or operate on their state.

    tidemark-metrics                      serve (the default)
    tidemark-metrics reconcile [--projection metrics|attendance ...] [--trust-id T ...]
                                          check every counter against the per-pupil states;
                                          exit status 1 if any differs
    tidemark-metrics rebuild [--projection metrics|attendance ...] [--trust-id T ...]
                             [--keep-previous] [--grace-seconds S]
                                          recompute the aggregates from ingest's replay
                                          (INGEST_URL, REPLAY_TOKEN) into a fresh generation,
                                          check it, switch readers to it, drop the previous one;
                                          safe while the consumers run
    (without --projection: every projection the process hosts)
"""

from __future__ import annotations

import sys

from tidemark_metrics.service import SERVICES
from tidemark_runtime.projections import service


def main(argv: list[str] | None = None) -> int:
    return service.main(SERVICES, argv, __doc__)


if __name__ == "__main__":
    sys.exit(main())
