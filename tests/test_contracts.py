"""The committed contracts in docs/contracts/ are exactly what the code generates."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "export_contracts.py"


def load_exporter():
    spec = importlib.util.spec_from_file_location("export_contracts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_contracts_match_the_code():
    exporter = load_exporter()
    stale = [
        name
        for name, document in exporter.contracts().items()
        if not (exporter.CONTRACTS / name).exists() or (exporter.CONTRACTS / name).read_text() != exporter.render(document)
    ]
    assert stale == [], f"contracts out of date: {stale}; run .venv/bin/python scripts/export_contracts.py"
