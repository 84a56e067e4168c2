"""pytest fixtures for real backends, resolved in order: environment, embedded binaries, testcontainers.

Redis comes two ways: `redis_url` (one server) and `redis_cluster_url` (a Redis Cluster of three
masters: $REDIS_CLUSTER_URL naming any node, else three embedded valkey masters). Tests that must
hold on both take `redis_target`, which runs them once against each.

Kafka, Redis and PostgreSQL fixtures fail (never skip) when no backend starts: a suite that silently skips
its integration tests would look green while proving nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tidemark_runtime.access import ADMIN, RedisCredentials, user_name
from tidemark_runtime.embedded import start_postgres, start_tansu, start_valkey, start_valkey_cluster
from tidemark_runtime.redis import RedisClient, connect_url
from tidemark_runtime.settings import asyncpg_url


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
def redis_credentials(backend_log_dir: Path) -> RedisCredentials:
    """The users of the embedded valkey (and cluster) the tests start: as `make run`'s, its default
    user off (`tidemark_runtime.access`). Tests log in as ADMIN; platforms add their services' users."""
    return RedisCredentials.generate("tm")


@pytest.fixture(scope="session")
def redis_url(backend_log_dir: Path, redis_credentials: RedisCredentials) -> Iterator[str]:
    """A real Redis-protocol server: $REDIS_URL, else embedded valkey (with ACL users: the URL logs
    in as ADMIN), else a Redis container."""
    if url := os.environ.get("REDIS_URL"):
        yield url
        return
    errors: list[str] = []
    try:
        directory = backend_log_dir / "valkey"
        server = start_valkey(log_dir=directory, acl_file=redis_credentials.write(directory / "users.acl"))
    except Exception as error:  # fall through to testcontainers
        errors.append(f"embedded valkey: {error}")
    else:
        try:
            yield redis_credentials.url(server.url, ADMIN)
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
def redis_cluster_url(backend_log_dir: Path, redis_credentials: RedisCredentials) -> Iterator[str]:
    """A real Redis Cluster: $REDIS_CLUSTER_URL (any node), else three embedded valkey masters
    joined by `valkey-cli --cluster create`, every node with the same ACL users (the URL logs in as
    ADMIN), stopped afterwards (only those processes)."""
    if url := os.environ.get("REDIS_CLUSTER_URL"):
        yield url
        return
    directory = backend_log_dir / "valkey-cluster"
    try:
        cluster = start_valkey_cluster(log_dir=directory, acl_file=redis_credentials.write(directory / "users.acl"),
                                       admin=(user_name(ADMIN), redis_credentials.passwords[ADMIN]))
    except Exception as error:
        pytest.fail(f"no Redis Cluster could be started (set REDIS_CLUSTER_URL to use one): {error}")
    try:
        yield redis_credentials.url(cluster.url, ADMIN)
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


@pytest.fixture(scope="session")
def postgres_url(backend_log_dir: Path) -> Iterator[str]:
    """A real PostgreSQL server: $DATABASE_URL, else the embedded one (pgserver's binaries), else a
    PostgreSQL container. Tests never use this database itself, only databases they create on its
    server (`database_url`, `scratch_database`), so $DATABASE_URL's role needs CREATEDB."""
    if url := os.environ.get("DATABASE_URL"):
        yield asyncpg_url(url)
        return
    errors: list[str] = []
    data_dir = backend_log_dir / "postgres"
    try:
        server = start_postgres(data_dir, log_dir=backend_log_dir / "postgres-log", durable=False)
    except Exception as error:
        errors.append(f"embedded postgres: {error}")
    else:
        try:
            yield server.url
        finally:
            server.stop()
            shutil.rmtree(data_dir, ignore_errors=True)  # tens of MB per run; the log stays
        return
    if _docker_answers():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as container:
            yield container.get_connection_url()
        return
    pytest.fail("no PostgreSQL backend could be started: " + "; ".join(errors + ["no Docker engine"]))


def _blocking(work: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to the end from synchronous code, even under a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


async def _execute(server_url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def with_database(url: str, name: str) -> str:
    """The same server's URL for another database."""
    return urlsplit(url)._replace(path=f"/{name}").geturl()


@contextmanager
def scratch_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """A new database on the server of `server_url`, a copy of `template` (else empty), dropped
    afterwards together with any connection still open to it. Yields its URL."""
    name = f"tidemark_test_{uuid.uuid4().hex[:12]}"
    _blocking(_execute(server_url, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield with_database(server_url, name)
    finally:
        _blocking(_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def migrated_template(postgres_url: str) -> Iterator[str]:
    """The name of a database migrated to head once, by the same prestart step `make run` runs;
    every test database is a copy of it (copying is faster than migrating each one)."""
    from tidemark_runtime.stack import migrate_database

    with scratch_database(postgres_url) as url:
        migrate_database(url)
        yield urlsplit(url).path.lstrip("/")


@pytest.fixture
def database_url(postgres_url: str, migrated_template: str) -> Iterator[str]:
    """A database of this test's own at the migrations' head: no test sees another's rows."""
    with scratch_database(postgres_url, template=migrated_template) as url:
        yield url


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
