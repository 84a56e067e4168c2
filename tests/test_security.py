"""Who may do what: each service's Redis user has only its rights, a client without credentials
gets nothing, the embedded broker's authentication is what docs/architecture.md ("Security") says,
and a forged version sent straight to the broker is dead-lettered while the genuine correction
after it applies (on the platform's real broker, Redis and processes)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from tidemark_runtime.access import refusals
from tidemark_runtime.embedded import LOOPBACK, free_port, tansu_binary, wait_for_port
from tidemark_runtime.kafka import client_options
from tidemark_runtime.settings import KafkaSettings
from tidemark_runtime.testing import eventually
from tidemark_schemas import topics
from tidemark_schemas.aggregates import Keyspace, statutory_keyspace

pytestmark = pytest.mark.e2e

TRUST, SCHOOL, PUPIL, YEAR, PERIOD = "trust-forged", "F-S1", "F-P1", "2025/26", "AUT1"


def reading(platform) -> tuple[int, int]:
    with platform.gateway(TRUST) as gateway:
        body = gateway.get("/v1/reports/attainment", params={"measure": "reading", "by": "school",
                                                               "academic_year": YEAR, "period": PERIOD}).json()
    return body["all_pupils"]["n"], body["all_pupils"]["at_or_above"]


def lock_reading(platform, band: str) -> None:
    with platform.ingest(TRUST) as ingest:
        assert ingest.post("/v1/assessments", json=[dict(pupil_id=PUPIL, school_id=SCHOOL, academic_year=YEAR,
                                                         period=PERIOD, year_group="Y4", subject="reading",
                                                         band=band)]).status_code == 200
        assert ingest.post("/v1/assessments/lock", json={"school_id": SCHOOL, "academic_year": YEAR,
                                                          "period": PERIOD}).status_code == 200


def test_a_forged_version_sent_to_the_broker_is_dead_lettered_and_the_genuine_correction_after_it_applies(platform):
    with platform.ingest(TRUST) as ingest:
        ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Fir Primary"}])
        ingest.post("/v1/pupils", json=[dict(pupil_id=PUPIL, school_id=SCHOOL, year_group="Y4", sex="F", fsm6=False,
                                             lac=False, plac=False, sen="N", eal=False, ethnicity="WBRI",
                                             left_on=None)])
    lock_reading(platform, "AT")  # the reading fact: entered (version 1), locked (version 2)
    eventually(lambda: reading(platform) == (1, 1))
    forged = {"event_type": "assessment-locked", "trust_id": TRUST, "pupil_id": PUPIL, "school_id": SCHOOL,
              "academic_year": YEAR, "period": PERIOD, "year_group": "Y4", "subject": "reading",
              "entered_band": "BELOW", "locked_band": "BELOW", "version": 999}

    async def forge_and_read_dead_letters() -> list:
        producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
        await producer.start()
        await producer.send_and_wait(topics.ASSESSMENTS, json.dumps(forged).encode(), key=PUPIL.encode())
        await producer.stop()
        consumer = AIOKafkaConsumer(topics.dead_letter(topics.ASSESSMENTS), bootstrap_servers=platform.kafka,
                                    group_id=None, auto_offset_reset="earliest")
        await consumer.start()
        found: list = []
        try:
            for _ in range(120):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    found += [r for r in records if r.key == PUPIL.encode()]
                if {dict(r.headers).get("x-rejected-by") for r in found} >= {b"tidemark-metrics", b"tidemark-statutory"}:
                    break
        finally:
            await consumer.stop()
        return found

    dead = asyncio.run(forge_and_read_dead_letters())
    for service in (b"tidemark-metrics", b"tidemark-statutory"):  # both projections hold the reading fact
        headers = dict(next(r for r in dead if dict(r.headers)["x-rejected-by"] == service).headers)
        assert headers["x-error-field"] == b"version"
        assert b"version 999 is 997 ahead of the stored version 2" in headers["x-error-reason"]
    status = httpx.get(f"http://{LOOPBACK}:{platform.ports['metrics']}/status").json()
    assert status["refused_versions"] >= 1
    assert reading(platform) == (1, 1)  # the published figure did not move

    lock_reading(platform, "BELOW")  # the genuine correction: versions 3 and 4
    eventually(lambda: reading(platform) == (1, 0))


def test_each_service_user_has_only_its_rights_and_redis_logs_every_refusal(platform):
    prefix = f"{platform.redis_prefix}probe"  # users of its own: the platform's must be refused nothing
    counters = Keyspace(prefix, TRUST).counters(YEAR, PERIOD, "reading", SCHOOL)
    statutory = statutory_keyspace(prefix, TRUST).statutory(YEAR, "ks2_rwm", SCHOOL)
    own = platform.users_for(prefix)

    async def probe() -> list[dict]:
        as_user = {name: Redis.from_url(own[name]["REDIS_URL"]) for name in ("metrics", "statutory", "gateway")}
        admin = Redis.from_url(platform.redis_url)
        try:
            await as_user["gateway"].hgetall(counters)  # reads its figures...
            with pytest.raises(NoPermissionError):  # ...but cannot change one
                await as_user["gateway"].hset(counters, "x|AT", 1)
            with pytest.raises(NoPermissionError):
                await as_user["metrics"].hset(statutory, "x|met", 1)  # another projection's keys
            with pytest.raises(NoPermissionError):
                await as_user["statutory"].hset(counters, "x|AT", 1)
            for user in as_user.values():
                for command in (("FLUSHALL",), ("CONFIG", "GET", "*"), ("KEYS", "*"), ("ACL", "LIST")):
                    with pytest.raises(NoPermissionError):
                        await user.execute_command(*command)
            assert await as_user["metrics"].hset(f"{prefix}:{{{TRUST}}}:probe", "x", 1) == 1  # its own keys
            await as_user["metrics"].delete(f"{prefix}:{{{TRUST}}}:probe")
            return await refusals(admin, {f"tidemark-{name}-{prefix}" for name in as_user})
        finally:
            for user in (*as_user.values(), admin):
                await user.aclose()

    refused = {(entry["username"], entry["reason"], entry["object"]) for entry in asyncio.run(probe())}
    # Redis logged each refusal, with the user and what was refused (the platform's check reads this log).
    assert {(f"tidemark-gateway-{prefix}", "command", "hset"), (f"tidemark-metrics-{prefix}", "key", statutory),
            (f"tidemark-statutory-{prefix}", "key", counters), (f"tidemark-metrics-{prefix}", "command", "flushall"),
            (f"tidemark-gateway-{prefix}", "command", "acl|list")} <= refused
    if "@" in platform.redis_url:  # the embedded valkey: its default user is off
        anonymous = Redis.from_url("redis://" + platform.redis_url.rsplit("@", 1)[1])

        async def without_credentials() -> None:
            try:
                with pytest.raises((AuthenticationError, ResponseError)):
                    await anonymous.get(counters)
            finally:
                await anonymous.aclose()

        asyncio.run(without_credentials())


def test_the_embedded_broker_with_authentication_refuses_clients_without_a_known_scram_user(tmp_path: Path):
    """What the embedded Tansu enforces (docs/architecture.md, "Security"): with `--authentication`
    only SCRAM-authenticated clients get past the handshake; every client the runtime builds speaks
    SCRAM from the KAFKA_SASL_* settings. (It keeps users in its storage, memory here, and creating
    one needs an authenticated client: so `make run` cannot run it with authentication.)"""
    port = free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    with open(tmp_path / "tansu.log", "wb") as log:
        broker = subprocess.Popen([tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
                                   "--storage-engine", "memory://tansu/", "--authentication"],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        bootstrap = f"{LOOPBACK}:{port}"
        scram = KafkaSettings(kafka_bootstrap_servers=bootstrap, kafka_security_protocol="SASL_PLAINTEXT",
                              kafka_sasl_username="tidemark-ingest", kafka_sasl_password=SecretStr("not-a-user"))

        async def produce(**options) -> None:  # type: ignore[no-untyped-def]
            producer = AIOKafkaProducer(**options, request_timeout_ms=3000)
            try:
                await producer.start()
                await producer.send_and_wait(topics.ASSESSMENTS, b"{}")
            finally:
                await producer.stop()

        with pytest.raises(KafkaConnectionError):
            asyncio.run(produce(bootstrap_servers=bootstrap))
        assert client_options(scram)["sasl_mechanism"] == "SCRAM-SHA-512"
        with pytest.raises((KafkaError, KeyError)):  # aiokafka reads Tansu's SCRAM refusal as a KeyError
            asyncio.run(produce(**client_options(scram)))
    finally:
        broker.terminate()
        broker.wait(10)
