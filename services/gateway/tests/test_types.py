"""The gateway type-checks: mypy, as configured in the root pyproject.toml (strict for the shared
libraries and the domain), over the gateway and the libraries it uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKED = ["libs/schemas/src", "libs/runtime/src", "services/gateway/src"]


def test_mypy_passes_on_the_gateway_and_the_shared_libraries() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", *CHECKED], cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
