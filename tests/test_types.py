"""Everything type-checks: mypy over every file the root pyproject.toml configures (the shared
libraries, every service and the tools; strict for the libraries and every service's pure domain),
so `make test` checks all of it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_is_configured_for_every_library_service_and_the_tools():
    files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["files"]
    projects = [path.parent for path in ROOT.glob("*/*/pyproject.toml")] + [ROOT / "tools"]

    assert sorted(files) == sorted(str((project / "src").relative_to(ROOT)) for project in projects)


def test_mypy_passes_on_everything_configured():
    # A cache of its own: one left by a run over fewer files can make mypy report a module's
    # attribute as missing (seen with `from tidemark_schemas import topics`).
    command = [sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache" / "make-test")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
