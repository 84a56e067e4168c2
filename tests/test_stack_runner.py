"""`tidemark-stack run` (what `make run` calls) starts everything, describes it, and stops it all;
servers given in the environment are used instead of the embedded ones, and left as they were."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, ResponseError

from tidemark_runtime.access import refusals
from tidemark_runtime.embedded import free_port, start_tansu
from tidemark_runtime.stack import start_demo_loader
from tidemark_runtime.testing import eventually

pytestmark = pytest.mark.e2e

SERVERS = ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "DATABASE_URL")


def start_runner(state_dir: Path, given: dict[str, str]) -> tuple[subprocess.Popen[str], dict, list[psutil.Process]]:
    """The runner with only the `given` servers in its environment, once it has written stack.json:
    the process, what stack.json says, and every process it started."""
    gateway_port, ingest_port = free_port(), free_port()
    env = {
        **os.environ,
        "TIDEMARK_GATEWAY_PORT": str(gateway_port),
        "TIDEMARK_INGEST_PORT": str(ingest_port),
        "TIDEMARK_STATE_DIR": str(state_dir),
    }
    for inherited in (*SERVERS, "REDIS_CLUSTER", "TIDEMARK_TOKENS", "REDIS_PREFIX"):
        env.pop(inherited, None)
    runner = subprocess.Popen(
        [sys.executable, "-m", "tidemark_runtime.stack", "run", "--no-demo"],
        env={**env, **given}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stack_file = state_dir / "stack.json"
    # a bound, not a timing: a loaded 2-core machine starts the stack slowly
    eventually(lambda: stack_file.exists() or runner.poll() is not None, timeout=240)
    assert runner.poll() is None, runner.stdout.read()  # type: ignore[union-attr]  # stdout=PIPE: never None
    stack = json.loads(stack_file.read_text())
    assert stack["gateway_url"] == f"http://127.0.0.1:{gateway_port}"
    assert stack["ingest_url"] == f"http://127.0.0.1:{ingest_port}"
    return runner, stack, psutil.Process(runner.pid).children(recursive=True)


def post_a_school_and_see_it(stack: dict) -> None:
    ingest = httpx.post(f"{stack['ingest_url']}/v1/schools", json=[{"school_id": "S1", "name": "Oak"}],
                        headers={"Authorization": f"Bearer {stack['tokens']['ingest']}"})
    assert ingest.json()["changed"] == 1
    schools = eventually(lambda: httpx.get(f"{stack['gateway_url']}/v1/schools",
                                           headers={"Authorization": f"Bearer {stack['tokens']['viewer']}"}).json())
    assert schools == [{"school_id": "S1", "name": "Oak"}]


def stop(runner: subprocess.Popen[str]) -> str:
    runner.send_signal(signal.SIGTERM)
    output, _ = runner.communicate(timeout=60)
    return output


def still_running(processes: list[psutil.Process]) -> list[int]:
    time.sleep(0.2)
    return [p.pid for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_the_stack_serves_both_apis_writes_stack_json_and_sigterm_stops_every_process(tmp_path):
    runner, children = None, []
    try:
        runner, stack, children = start_runner(tmp_path / "state", given={})
        assert set(stack["tokens"]) == {"ingest", "viewer"}
        assert stack["tokens"]["ingest"].startswith("tmk_") and stack["tokens"]["viewer"].startswith("tmk_")
        post_a_school_and_see_it(stack)
        signed_in = httpx.post(f"{stack['gateway_url']}/v1/auth/login", json=stack["admin"])
        assert (signed_in.status_code, signed_in.json()["role"]) == (200, "trust_admin")
        # the gateway forwards the web UI's writes to ingest (INGEST_URL set by the runner)
        assert httpx.get(f"{stack['gateway_url']}/ingest/status").json().keys() >= {"outbox_backlog"}
        assert len(children) >= 7  # broker, Redis, PostgreSQL and the four services
        # Each service logged in to the embedded valkey as its own user and was refused nothing;
        # a client without credentials gets nothing.
        assert {name: urlsplit(url).username for name, url in stack["redis_urls"].items()} == {
            "metrics": "tidemark-metrics", "statutory": "tidemark-statutory", "gateway": "tidemark-gateway",
            "admin": "tidemark-admin"}
        assert asyncio.run(refused_by_valkey(stack)) == []
        assert (tmp_path / "state" / "stack.json").stat().st_mode & 0o077 == 0  # tokens and passwords: ours only
        assert (tmp_path / "state" / "data" / "postgres" / "PG_VERSION").exists()  # the embedded store
    finally:
        output = stop(runner) if runner else ""
    assert runner.returncode == 0, output
    assert still_running(children) == []
    assert "Stopping every process this run started" in output
    assert "Started the embedded PostgreSQL" in output


def test_servers_given_in_the_environment_are_used_instead_of_embedded_ones_and_left_as_they_were(
    tmp_path, database_url, redis_url
):
    kafka = start_tansu(log_dir=tmp_path / "given-kafka")  # its own: the e2e platform's groups share the session's
    given = {"KAFKA_BOOTSTRAP_SERVERS": kafka.url, "REDIS_URL": redis_url, "DATABASE_URL": database_url,
             "REDIS_PREFIX": f"given{uuid.uuid4().hex[:6]}"}
    runner = None
    try:
        runner, stack, children = start_runner(tmp_path / "state", given)
        post_a_school_and_see_it(stack)
        assert len(children) == 4  # the four services, no embedded server
        output = stop(runner)
        assert runner.returncode == 0, output
        assert still_running(children) == []
        assert kafka.process.poll() is None  # a given server is not stopped...
        assert asyncio.run(school_names(database_url)) == ["Oak"]  # ...nor cleared
    finally:
        if runner and runner.poll() is None:
            stop(runner)
        kafka.stop()
    for variable in SERVERS:
        assert f"given in {variable}" in output
    assert "Started the embedded" not in output
    assert not (tmp_path / "state" / "data" / "postgres").exists()


async def school_names(database_url: str) -> list[str]:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return [row["name"] for row in await connection.fetch("SELECT name FROM school")]
    finally:
        await connection.close()


def test_on_a_given_redis_cluster_the_stack_starts_no_valkey(tmp_path, redis_cluster_url):
    """REDIS_CLUSTER=true with REDIS_URL naming a node: the services use that cluster."""
    given = {"REDIS_CLUSTER": "true", "REDIS_URL": redis_cluster_url, "REDIS_PREFIX": f"stack{uuid.uuid4().hex[:6]}"}
    runner, children = None, []
    try:
        runner, stack, children = start_runner(tmp_path / "state", given)
        post_a_school_and_see_it(stack)
        assert [c for c in children if c.name().startswith("valkey")] == []
        assert len(children) >= 6  # broker, PostgreSQL and the four services
    finally:
        output = stop(runner) if runner else ""
    assert runner.returncode == 0, output
    assert still_running(children) == []
    assert "given in REDIS_URL" in output


def test_the_stack_loads_the_demo_with_an_ingest_token_that_starts_with_a_dash(platform):
    """`make run` hands the demo loader a token from secrets.token_urlsafe, which can start with "-"
    (about one start in 64 failed when it went on the command line)."""
    token = platform.tokens["trust-demo"]["ingest"]
    assert token.startswith("-")
    loader = start_demo_loader(platform.ingest_url, token, 7, "--schools", "1", "--pupils-per-school", "20",
                               "--today", "2025-11-05")
    assert loader.wait(timeout=300) == 0
    with platform.gateway("trust-demo") as gateway:
        schools = eventually(lambda: gateway.get("/v1/schools").json())
        classes = eventually(lambda: gateway.get("/v1/classes").json())
        query = {"measure": "reading", "by": "class", "academic_year": "2025/26", "period": "AUT1"}
        by_class = eventually(lambda: [row for row in gateway.get("/v1/reports/attainment", params=query).json()
                                       .get("rows", []) if row["n"]], timeout=120)
    assert schools == [{"school_id": "S01", "name": "Oakfield Primary Academy"}]
    assert {c["academic_year"] for c in classes} == {"2023/24", "2024/25", "2025/26"}  # the demo's classes, each year
    assert by_class and all(row["group"] for row in by_class)  # every pupil with a result placed in a class


async def refused_by_valkey(stack: dict) -> list[dict]:
    """What the stack's valkey refused its services' users (`access.refusals`), and proof that it
    admits no one without credentials."""
    admin = Redis.from_url(stack["redis_urls"]["admin"])
    anonymous = Redis.from_url("redis://" + stack["redis_urls"]["admin"].rsplit("@", 1)[1])
    try:
        with pytest.raises((AuthenticationError, ResponseError)):
            await anonymous.get("tm:epoch")
        return await refusals(admin, {urlsplit(url).username for name, url in stack["redis_urls"].items()
                                      if name != "admin"})
    finally:
        await anonymous.aclose()
        await admin.aclose()


def child(children: list[psutil.Process], fragment: str) -> psutil.Process:
    """The one process the runner started whose command line holds `fragment`."""
    [found] = [c for c in children if c.is_running() and fragment in " ".join(c.cmdline())]
    return found


BOTH = [{"school_id": "S1", "name": "Oak"}, {"school_id": "S2", "name": "Ash"}]


def in_order(schools: list | None) -> list | None:
    """/v1/schools in the order of their ids (the gateway gives no order)."""
    return None if schools is None else sorted(schools, key=lambda school: school["school_id"])


def test_a_stopped_process_is_started_again_and_stored_data_survives_a_restart_of_the_stack(tmp_path):
    state = tmp_path / "state"
    runner, output = None, ""
    try:
        runner, stack, children = start_runner(state, given={})
        post_a_school_and_see_it(stack)
        viewer = {"Authorization": f"Bearer {stack['tokens']['viewer']}"}

        def schools() -> list | None:
            try:
                answer = httpx.get(f"{stack['gateway_url']}/v1/schools", headers=viewer, timeout=2)
            except httpx.HTTPError:
                return None
            return answer.json() if answer.status_code == 200 else None

        gateway = child(children, "tidemark_gateway")
        gateway.kill()  # kill -9: the runner starts it again on the same port
        gateway.wait(10)
        assert eventually(schools, timeout=30) == [{"school_id": "S1", "name": "Oak"}]
        valkey = child(children, "valkey-server")
        valkey.kill()  # its append-only log brings every acknowledged write back
        valkey.wait(10)
        eventually(lambda: any(c.name().startswith("valkey") for c in psutil.Process(runner.pid).children(recursive=True)
                               if c.pid != valkey.pid), timeout=30)
        assert eventually(schools, timeout=30) == [{"school_id": "S1", "name": "Oak"}]
        # The restarted valkey read the same users: the metrics process still writes as its own.
        httpx.post(f"{stack['ingest_url']}/v1/schools", json=[{"school_id": "S2", "name": "Ash"}],
                   headers={"Authorization": f"Bearer {stack['tokens']['ingest']}"}).raise_for_status()
        assert eventually(lambda: in_order(schools()) == BOTH, timeout=30)
        assert asyncio.run(refused_by_valkey(stack)) == []
        output = stop(runner)
        assert runner.returncode == 0, output
        assert "gateway stopped (exit code -9)" in output and "gateway restarted" in output
        assert "valkey stopped (exit code -9)" in output and "valkey restarted" in output

        runner, stack, _children = start_runner(state, given={})  # the same state: nothing is posted again
        viewer = {"Authorization": f"Bearer {stack['tokens']['viewer']}"}
        assert in_order(eventually(schools, timeout=30)) == BOTH
    finally:
        output = stop(runner) if runner and runner.poll() is None else output
    assert "Deleting the stored data" not in output
