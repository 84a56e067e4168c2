"""`tidemark-schemas`: print the JSON Schema of every event, for other Trust systems."""

from __future__ import annotations

import json

from tidemark_schemas.events import AttainmentChanged, tracker_event_adapter


def main() -> None:
    print(
        json.dumps(
            {
                "tracker_event": tracker_event_adapter.json_schema(),
                "attainment_changed": AttainmentChanged.model_json_schema(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
