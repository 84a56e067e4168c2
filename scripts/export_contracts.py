"""Write the public contracts to docs/contracts/: OpenAPI of the HTTP services, AsyncAPI of the
consumers, and the JSON Schemas of every event. `tests/test_contracts.py` fails when they drift.

Usage: .venv/bin/python scripts/export_contracts.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).resolve().parent.parent / "docs" / "contracts"


def contracts() -> dict[str, Any]:
    from tidemark_gateway.entrypoints.app import create_app as gateway_app
    from tidemark_ingest.entrypoints.app import create_app as ingest_app
    from tidemark_metrics.entrypoints.app import create_app as metrics_app
    from tidemark_schemas.events import AttainmentChanged, tracker_event_adapter
    from tidemark_statutory.entrypoints.app import create_app as statutory_app

    return {
        "ingest.openapi.json": ingest_app().openapi(),
        "gateway.openapi.json": gateway_app().openapi(),
        "metrics.asyncapi.json": json.loads(metrics_app().schema.to_specification().to_json()),
        "statutory.asyncapi.json": json.loads(statutory_app().schema.to_specification().to_json()),
        "events.schema.json": {
            "tracker_event": tracker_event_adapter.json_schema(),
            "attainment_changed": AttainmentChanged.model_json_schema(),
        },
    }


def render(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main() -> int:
    CONTRACTS.mkdir(parents=True, exist_ok=True)
    for name, document in contracts().items():
        (CONTRACTS / name).write_text(render(document))
        print(f"wrote docs/contracts/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
