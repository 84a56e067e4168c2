"""`tidemark-metrics`: run the metrics consumer (and its /healthz) under uvicorn."""

from __future__ import annotations

from tidemark_runtime.serve import serve
from tidemark_metrics.entrypoints.app import create_app
from tidemark_metrics.settings import MetricsSettings


def main() -> None:
    settings = MetricsSettings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
