"""The one image recipe (deploy/Dockerfile) builds each service the compose file names: the
service's folder exists, its port is the one it serves on, and the command the image runs
(`tidemark-<SERVICE>`) is a console script the service's package declares. (No Docker engine here:
this checks what a build would use, not a build.)"""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PORTS = {"ingest": "8001", "metrics": "8002", "statutory": "8003", "gateway": "8000"}
"""Each service's default PORT (its settings)."""


def built_services() -> dict[str, dict[str, str]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return {name: service["build"] for name, service in compose["services"].items() if "build" in service}


def test_every_built_service_uses_the_one_recipe_with_a_real_service_and_its_port() -> None:
    builds = built_services()

    assert set(builds) == {"migrate", "ingest", "metrics", "statutory", "gateway"}
    for name, build in builds.items():
        service = build["args"]["SERVICE"]
        assert build["dockerfile"] == "deploy/Dockerfile", name
        assert (ROOT / "services" / service / "pyproject.toml").is_file(), name
        assert build["args"]["PORT"] == PORTS[service], name


def test_the_image_command_is_a_console_script_of_the_service() -> None:
    recipe = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "SERVICE_COMMAND=tidemark-${SERVICE}" in recipe
    for service in PORTS:
        scripts = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]["scripts"]
        assert f"tidemark-{service}" in scripts, service
