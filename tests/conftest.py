"""The whole platform for end-to-end tests: the four services as real processes on the real
embedded broker and Redis (or the endpoints given in the environment)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidemark_runtime.embedded import LOOPBACK, free_port
from tidemark_runtime.stack import ServiceProcess, service_environment, spawn_service, start_services, wait_healthy

TRUSTS = ("trust-a", "trust-b", "trust-c", "trust-d", "trust-e", "trust-f", "trust-g", "trust-h", "trust-i", "trust-j")


@dataclass
class Platform:
    ingest_url: str
    gateway_url: str
    kafka: str
    redis_url: str
    redis_prefix: str
    env: dict[str, str]
    log_dir: Path
    services: dict[str, ServiceProcess]
    ports: dict[str, int]
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def ingest(self, trust: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.ingest_url, headers={"Authorization": f"Bearer {self.tokens[trust]['ingest']}"}, timeout=30
        )

    def gateway(self, trust: str, role: str = "viewer") -> httpx.Client:
        return httpx.Client(
            base_url=self.gateway_url, headers={"Authorization": f"Bearer {self.tokens[trust][role]}"}, timeout=30
        )

    def restart(self, name: str, before_start: Callable[[], None] = lambda: None) -> None:
        """Stop a service, run `before_start` while it is down, start it again and wait for health."""
        self.services[name].stop()
        before_start()
        self.services[name] = spawn_service(name, self.env, LOOPBACK, self.ports[name], self.log_dir)
        wait_healthy([self.services[name]])


@pytest.fixture(scope="session")
def platform(kafka_bootstrap: str, redis_url: str) -> Iterator[Platform]:
    log_dir = Path(tempfile.mkdtemp(prefix="tidemark-e2e-"))
    tokens: dict[str, dict[str, str]] = {}
    principals: dict[str, Any] = {}
    for trust in TRUSTS:
        tokens[trust] = {"ingest": f"{trust}-ingest-{uuid.uuid4().hex}", "viewer": f"{trust}-viewer-{uuid.uuid4().hex}"}
        principals[tokens[trust]["ingest"]] = {"trust_id": trust, "role": "ingest"}
        principals[tokens[trust]["viewer"]] = {"trust_id": trust, "role": "viewer", "see_pupils": True}
    tokens["trust-a"]["school_viewer"] = f"school-viewer-{uuid.uuid4().hex}"
    principals[tokens["trust-a"]["school_viewer"]] = {"trust_id": "trust-a", "role": "viewer", "schools": ["A-S1"]}

    prefix = f"e2e{uuid.uuid4().hex[:6]}"
    ports = {name: free_port() for name in ("ingest", "metrics", "statutory", "gateway")}
    env = service_environment(kafka_bootstrap, redis_url, f"sqlite+aiosqlite:///{log_dir / 'ingest.db'}", principals, 6,
                              ingest_url=f"http://{LOOPBACK}:{ports['ingest']}", replay_token=uuid.uuid4().hex)
    env["REDIS_PREFIX"] = prefix
    services = start_services(env, LOOPBACK, ports, log_dir)
    platform = Platform(
        ingest_url=f"http://{LOOPBACK}:{ports['ingest']}",
        gateway_url=f"http://{LOOPBACK}:{ports['gateway']}",
        kafka=kafka_bootstrap,
        redis_url=redis_url,
        redis_prefix=prefix,
        env=env,
        log_dir=log_dir,
        services={s.name: s for s in services},
        ports=ports,
        tokens=tokens,
    )
    try:
        yield platform
    finally:
        for service in platform.services.values():
            service.stop()

