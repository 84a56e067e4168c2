"""`tidemark-stack run` (what `make run` calls) starts everything, describes it, and stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import psutil
import pytest

from tidemark_runtime.embedded import free_port
from tidemark_runtime.stack import start_demo_loader
from tidemark_runtime.testing import eventually

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("redis", ["embedded", "cluster"])
def test_the_stack_serves_both_apis_writes_stack_json_and_sigterm_stops_every_process(tmp_path, request, redis):
    """On its own valkey, or with REDIS_CLUSTER=true on the Redis Cluster REDIS_URL names (no valkey)."""
    gateway_port, ingest_port = free_port(), free_port()
    env = {
        **os.environ,
        "TIDEMARK_GATEWAY_PORT": str(gateway_port),
        "TIDEMARK_INGEST_PORT": str(ingest_port),
        "TIDEMARK_STATE_DIR": str(tmp_path / "state"),
    }
    for inherited in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "REDIS_CLUSTER", "DATABASE_URL", "TIDEMARK_TOKENS",
                      "REDIS_PREFIX"):
        env.pop(inherited, None)
    if redis == "cluster":
        env |= {"REDIS_CLUSTER": "true", "REDIS_URL": request.getfixturevalue("redis_cluster_url"),
                "REDIS_PREFIX": f"stack{uuid.uuid4().hex[:6]}"}
    runner = subprocess.Popen(
        [sys.executable, "-m", "tidemark_runtime.stack", "run", "--no-demo"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    stack_file = tmp_path / "state" / "stack.json"
    try:
        eventually(lambda: stack_file.exists() or runner.poll() is not None, timeout=90)
        assert runner.poll() is None, runner.stdout.read()
        stack = json.loads(stack_file.read_text())
        assert stack["gateway_url"] == f"http://127.0.0.1:{gateway_port}"
        assert stack["ingest_url"] == f"http://127.0.0.1:{ingest_port}"
        assert set(stack["tokens"]) == {"ingest", "viewer"}
        ingest = httpx.post(f"{stack['ingest_url']}/v1/schools", json=[{"school_id": "S1", "name": "Oak"}],
                            headers={"Authorization": f"Bearer {stack['tokens']['ingest']}"})
        assert ingest.json()["changed"] == 1
        schools = eventually(lambda: httpx.get(f"{stack['gateway_url']}/v1/schools",
                                               headers={"Authorization": f"Bearer {stack['tokens']['viewer']}"}).json())
        assert schools == [{"school_id": "S1", "name": "Oak"}]
        children = psutil.Process(runner.pid).children(recursive=True)
        valkeys = [c for c in children if c.name().startswith("valkey")]
        assert len(children) - len(valkeys) >= 5  # the broker and the four services
        assert len(valkeys) == (0 if redis == "cluster" else 1)
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=60)
    assert runner.returncode == 0, output
    time.sleep(0.2)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    assert "Stopping every process this run started" in output


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
    assert schools == [{"school_id": "S01", "name": "Oakfield Primary Academy"}]
