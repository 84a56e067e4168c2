"""pytest fixtures for real backends, resolved in order: environment, embedded binaries, testcontainers.

Redis comes two ways: `redis_url` (one server) and `redis_cluster_url` (a Redis Cluster of three
masters: $REDIS_CLUSTER_URL naming any node, else three embedded valkey masters). Tests that must
hold on both take `redis_target`, which runs them once against each.

Kafka and Redis fixtures fail (never skip) when no backend starts: a suite that silently skips
its integration tests would look green while proving nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tidemark_runtime.embedded import start_tansu, start_valkey, start_valkey_cluster
from tidemark_runtime.redis import RedisClient, connect_url


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def backend_log_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tidemark-test-"))


@pytest.fixture(scope="session")
def redis_url(backend_log_dir: Path) -> Iterator[str]:
    """A real Redis-protocol server: $REDIS_URL, else embedded valkey, else a Redis container."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    errors: list[str] = []
    try:
        server = start_valkey(log_dir=backend_log_dir / "valkey")
    except Exception as error:  # fall through to testcontainers
        errors.append(f"embedded valkey: {error}")
    else:
        try:
            yield server.url
        finally:
            server.stop()
        return
    if _docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7.4-alpine") as container:
            yield f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
        return
    pytest.fail("no Redis backend could be started: " + "; ".join(errors + ["no Docker engine"]))


@pytest.fixture(scope="session")
def redis_cluster_url(backend_log_dir: Path) -> Iterator[str]:
    """A real Redis Cluster: $REDIS_CLUSTER_URL (any node), else three embedded valkey masters
    joined by `valkey-cli --cluster create`, stopped afterwards (only those processes)."""
    if url := os.environ.get("REDIS_CLUSTER_URL"):
        yield url
        return
    try:
        cluster = start_valkey_cluster(log_dir=backend_log_dir / "valkey-cluster")
    except Exception as error:
        pytest.fail(f"no Redis Cluster could be started (set REDIS_CLUSTER_URL to use one): {error}")
    try:
        yield cluster.url
    finally:
        cluster.stop()


@dataclass(frozen=True)
class RedisTarget:
    """A Redis to test against: one server or a cluster, and how to connect to it."""

    url: str
    cluster: bool

    def client(self, **options: Any) -> RedisClient:
        return connect_url(self.url, cluster=self.cluster, **options)


@pytest.fixture(params=["single", "cluster"])
def redis_target(request: pytest.FixtureRequest) -> RedisTarget:
    """Runs a test once on a single Redis server and once on a Redis Cluster."""
    if request.param == "cluster":
        return RedisTarget(request.getfixturevalue("redis_cluster_url"), cluster=True)
    return RedisTarget(request.getfixturevalue("redis_url"), cluster=False)


@pytest.fixture
async def redis_client(redis_target: RedisTarget) -> AsyncIterator[RedisClient]:
    """A client of `redis_target` for the whole test (every example of a property test shares it)."""
    client = redis_target.client()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def kafka_bootstrap(backend_log_dir: Path) -> Iterator[str]:
    """A real Kafka-protocol broker: $KAFKA_BOOTSTRAP_SERVERS, else embedded Tansu, else a Kafka container."""
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    errors: list[str] = []
    try:
        broker = start_tansu(log_dir=backend_log_dir / "tansu")
    except Exception as error:
        errors.append(f"embedded tansu: {error}")
    else:
        try:
            yield broker.url
        finally:
            broker.stop()
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with ExitStack() as stack:
            container = stack.enter_context(KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft())
            yield container.get_bootstrap_server()
        return
    pytest.fail("no Kafka backend could be started: " + "; ".join(errors + ["no Docker engine"]))


def eventually(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll until `check` returns a truthy value (the pipeline is asynchronous by design)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
