"""The whole platform for end-to-end tests: the four services as real processes on the real
embedded broker, Redis and PostgreSQL (or the servers given in the environment)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tidemark_runtime.access import REDIS_ACCESS, RedisCredentials, refusals
from tidemark_runtime.embedded import LOOPBACK, free_port, start_tansu
from tidemark_runtime.redis import connect_url
from tidemark_runtime.stack import (
    ServiceProcess,
    service_credentials,
    service_environment,
    spawn_service,
    start_services,
    wait_healthy,
)
from tidemark_runtime.testing import _blocking, scratch_database

TRUSTS = (
    "trust-a", "trust-b", "trust-c", "trust-d", "trust-e", "trust-empty", "trust-f", "trust-g", "trust-h", "trust-i",
    "trust-j", "trust-k", "trust-l", "trust-m", "trust-demo", "trust-live", "trust-group",
    "trust-attendance", "trust-forged", "trust-obs", "trust-registers", "trust-attendance-attainment",
    "trust-forward", "trust-entry", "trust-calendar", "trust-import",
)
"""One Trust per test, so that no test depends on another having run (or not) before it."""


@dataclass
class Platform:
    ingest_url: str
    gateway_url: str
    kafka: str
    redis_url: str
    """The Redis as ADMIN (tests read and write any key with it)."""
    redis_prefix: str
    env: dict[str, str]
    """What every service's environment holds; `env_of` adds a service's own credentials."""
    log_dir: Path
    services: dict[str, ServiceProcess]
    ports: dict[str, int]
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    own: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per service: its own REDIS_URL (its own Redis user, `tidemark_runtime.access`)."""
    users: tuple[str, ...] = ()
    """The services' Redis users."""
    cluster: bool = False

    def env_of(self, service: str) -> dict[str, str]:
        """The environment `service` (or its command line: `tidemark-metrics rebuild`, ...) runs with."""
        return {**self.env, **self.own.get(service, {})}

    def users_for(self, prefix: str) -> dict[str, dict[str, str]]:
        """Service users whose rights cover another REDIS_PREFIX (e.g. a second consumer group's),
        as each service's environment adds them."""
        return service_credentials(self.redis_url, service_users(self.redis_url, self.cluster, prefix))

    def refused(self) -> list[dict[str, Any]]:
        """What Redis refused the services' users so far (`access.refusals`)."""

        async def read() -> list[dict[str, Any]]:
            admin = connect_url(self.redis_url, cluster=self.cluster)
            try:
                return await refusals(admin, self.users)
            finally:
                await admin.aclose()

        return _blocking(read())

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
        self.services[name] = spawn_service(name, self.env_of(name), LOOPBACK, self.ports[name], self.log_dir)
        wait_healthy([self.services[name]])


def launch_platform(kafka_bootstrap: str, redis_env: dict[str, str], database_url: str) -> Platform:
    """The four services as processes on one broker, Redis and SQL store, with tokens for every Trust of TRUSTS;
    each service logs in to Redis as its own user, with the rights of `tidemark_runtime.access` for this
    platform's prefix (`redis_env["REDIS_URL"]` logs in as ADMIN, who creates them)."""
    log_dir = Path(tempfile.mkdtemp(prefix="tidemark-e2e-"))
    tokens: dict[str, dict[str, str]] = {}
    principals: dict[str, Any] = {}
    for trust in TRUSTS:
        # `make run`'s tokens come from secrets.token_urlsafe and may start with "-": so does trust-demo's.
        ingest = f"-{uuid.uuid4().hex}" if trust == "trust-demo" else f"{trust}-ingest-{uuid.uuid4().hex}"
        tokens[trust] = {"ingest": ingest, "viewer": f"{trust}-viewer-{uuid.uuid4().hex}"}
        principals[tokens[trust]["ingest"]] = {"trust_id": trust, "role": "ingest"}
        principals[tokens[trust]["viewer"]] = {"trust_id": trust, "role": "viewer", "see_pupils": True}
    tokens["trust-e"]["school_viewer"] = f"school-viewer-{uuid.uuid4().hex}"
    principals[tokens["trust-e"]["school_viewer"]] = {"trust_id": "trust-e", "role": "viewer", "schools": ["E-S1"]}

    prefix = f"e2e{uuid.uuid4().hex[:6]}"
    ports = {name: free_port() for name in ("ingest", "metrics", "statutory", "gateway")}
    env = service_environment(kafka_bootstrap, redis_env["REDIS_URL"], database_url,
                              6, ingest_url=f"http://{LOOPBACK}:{ports['ingest']}",
                              replay_token=uuid.uuid4().hex, redis_cluster=redis_env.get("REDIS_CLUSTER") == "true",
                              tokens=principals)
    env["REDIS_PREFIX"] = prefix
    cluster = redis_env.get("REDIS_CLUSTER") == "true"
    credentials = service_users(redis_env["REDIS_URL"], cluster, prefix)
    own = service_credentials(redis_env["REDIS_URL"], credentials)
    services = start_services(env, LOOPBACK, ports, log_dir, own)
    return Platform(
        ingest_url=f"http://{LOOPBACK}:{ports['ingest']}",
        gateway_url=f"http://{LOOPBACK}:{ports['gateway']}",
        kafka=kafka_bootstrap,
        redis_url=redis_env["REDIS_URL"],
        redis_prefix=prefix,
        env=env,
        log_dir=log_dir,
        services={s.name: s for s in services},
        ports=ports,
        tokens=tokens,
        own=own,
        users=tuple(credentials.user(service) for service in REDIS_ACCESS),
        cluster=cluster,
    )


def service_users(admin_url: str, cluster: bool, prefix: str) -> RedisCredentials:
    """Create (as ADMIN) a Redis user per service with the rights of `tidemark_runtime.access` for
    `prefix` (named `tidemark-<service>-<prefix>`: several prefixes share the session's Redis)."""
    credentials = RedisCredentials.generate(prefix, suffix=f"-{prefix}")

    async def install() -> None:
        admin = connect_url(admin_url, cluster=cluster)
        try:
            await credentials.install(admin)
        finally:
            await admin.aclose()

    _blocking(install())
    return credentials


def stop_and_check_rights(platform: Platform) -> None:
    """Stop the platform's services; then fail if Redis refused any of them anything during the
    session (every end-to-end test ran under the services' own users: their rights must cover all
    they did, the recovery's keys included)."""
    refused = platform.refused()
    for service in platform.services.values():
        service.stop()
    if refused:
        pytest.fail("Redis refused the services' users: " + "; ".join(
            f"{entry['username']}: {entry['reason']} {entry['object']} ({entry['count']}x)" for entry in refused))


@pytest.fixture(scope="session")
def platform_database(postgres_url: str, migrated_template: str) -> Iterator[str]:
    """The platform's SQL store: a migrated database of its own."""
    with scratch_database(postgres_url, template=migrated_template) as url:
        yield url


@pytest.fixture(scope="session")
def platform(kafka_bootstrap: str, redis_url: str, platform_database: str) -> Iterator[Platform]:
    platform = launch_platform(kafka_bootstrap, {"REDIS_URL": redis_url}, platform_database)
    try:
        yield platform
    finally:
        stop_and_check_rights(platform)


@pytest.fixture(scope="session")
def cluster_platform(
    backend_log_dir: Path, redis_cluster_url: str, postgres_url: str, migrated_template: str
) -> Iterator[Platform]:
    """The same services on a Redis Cluster (`REDIS_CLUSTER=true`, `REDIS_URL` naming one node), on
    an embedded broker of their own: on a shared one, each platform's projections would consume
    and announce the other's events (the same Trusts, the same public topics)."""
    broker = start_tansu(log_dir=backend_log_dir / "tansu-cluster-platform")
    try:
        with scratch_database(postgres_url, template=migrated_template) as database_url:
            platform = launch_platform(
                broker.url, {"REDIS_URL": redis_cluster_url, "REDIS_CLUSTER": "true"}, database_url)
            try:
                yield platform
            finally:
                stop_and_check_rights(platform)
    finally:
        broker.stop()


@pytest.fixture(params=["single", "cluster"])
def any_platform(request: pytest.FixtureRequest) -> Platform:
    """Runs an end-to-end test on the platform with one Redis server, then on the one with a cluster."""
    return request.getfixturevalue("platform" if request.param == "single" else "cluster_platform")
