"""The access rules of the production shapes, read from their files (no broker or Redis needed):
every Kafka ACL, every Redis ACL user and every service's credentials in docker-compose.yml and
the Kubernetes manifests agree with the rights the code declares (deploy/README.md, "Security"):
ingest may only produce to the tracker topics; each projection reads its topics as its own groups
and writes only its public topic and its dead letters; the gateway has no Kafka user and reads Redis
only; nobody but the admin runs administrative commands; nothing is allowed that is not listed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tidemark_metrics.service import SERVICES as METRICS_SERVICES
from tidemark_runtime.access import ADMIN, REDIS_ACCESS, acl_rules, user_name
from tidemark_runtime.projections.service import ProjectionService
from tidemark_schemas import topics
from tidemark_statutory.service import SERVICE as STATUTORY_SERVICE

ROOT = Path(__file__).resolve().parent.parent
KAFKA = ROOT / "deploy" / "kafka"
REDIS_TEMPLATE = ROOT / "deploy" / "redis" / "users.acl"
K8S_EXAMPLE = ROOT / "deploy" / "k8s" / "overlays" / "example"
PROJECTIONS: dict[str, tuple[ProjectionService, ...]] = {"metrics": METRICS_SERVICES, "statutory": (STATUTORY_SERVICE,)}
KAFKA_USERS = ("ingest", "metrics", "statutory")
"""The services with a Kafka user (the gateway has none)."""


def expected_kafka_rights() -> set[tuple[str, str, str, str]]:
    """(user, operation, resource type, name), from what each service declares."""
    rights = {(user_name("ingest"), "WRITE", "topic", topic) for topic in topics.TRACKER_TOPICS}
    for process, services in PROJECTIONS.items():
        user = user_name(process)
        for service in services:
            group = service.consumer_group or service.settings.model_fields["consumer_group"].default
            rights.add((user, "READ", "group", group))
            for topic in service.topics:
                rights |= {(user, "READ", "topic", topic), (user, "WRITE", "topic", topics.dead_letter(topic))}
            if service.publication is not None:
                rights.add((user, "WRITE", "topic", service.publication.topic))
        # The broker-incarnation record: read by every projection, written by the first to find it empty.
        rights |= {(user, "READ", "topic", topics.BROKER_INCARNATION), (user, "WRITE", "topic", topics.BROKER_INCARNATION)}
    return rights


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_the_kafka_acls_grant_exactly_what_each_service_declares():
    granted = {tuple(line.split()) for line in lines(KAFKA / "acls.txt")}
    assert granted == expected_kafka_rights()
    writers = {user for user, operation, kind, name in granted if operation == "WRITE" and name in topics.TRACKER_TOPICS}
    assert writers == {user_name("ingest")}  # no projection may write a tracker topic
    assert {user for user, *_ in granted} == {user_name(service) for service in KAFKA_USERS}  # no gateway user


def test_the_kafka_setup_creates_every_topic_and_each_services_user():
    listed = dict((line.split() + [None])[:2] for line in lines(KAFKA / "topics.txt"))
    assert listed == {**{topic: None for topic in topics.all_topics()}, topics.BROKER_INCARNATION: "1"}
    setup = (KAFKA / "setup.sh").read_text()
    assert "for service in ingest metrics statutory; do" in setup
    assert 'SCRAM-SHA-512=[password=$password]' in setup


def test_the_compose_kafka_authenticates_every_client_and_denies_what_no_acl_allows():
    config = dict(line.split("=", 1) for line in lines(KAFKA / "server.properties"))
    assert config["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert config["allow.everyone.if.no.acl.found"] == "false"
    assert config["auto.create.topics.enable"] == "false"
    protocols = dict(pair.split(":") for pair in config["listener.security.protocol.map"].split(","))
    for listener in config["listeners"].split(","):
        name, address = listener.split("://")
        # The only listener other containers reach speaks SASL; the plaintext ones are bound to loopback.
        assert protocols[name] == "SASL_PLAINTEXT" or address.startswith("localhost:"), listener
    assert config["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert set(config["super.users"].split(";")) == {"User:admin", "User:ANONYMOUS"}  # ANONYMOUS: loopback only


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_each_compose_service_logs_in_as_its_own_user(compose):
    services = compose["services"]
    setup = services["kafka-setup"]["environment"]
    for name in ("ingest", "metrics", "statutory", "gateway"):
        env = services[name]["environment"]
        assert env["KAFKA_CREATE_TOPICS"] == "false"  # kafka-setup creates them
        assert services[name]["depends_on"].get("kafka-setup", {}).get("condition") in (
            None if name == "gateway" else "service_completed_successfully",)
        if name in KAFKA_USERS:
            assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT" and env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
            assert env["KAFKA_SASL_USERNAME"] == user_name(name)
            assert env["KAFKA_SASL_PASSWORD"] == setup[f"KAFKA_{name.upper()}_PASSWORD"]
        else:
            assert "KAFKA_SASL_USERNAME" not in env
        if name in REDIS_ACCESS:
            password = services["redis"]["environment"][f"REDIS_{name.upper()}_PASSWORD"]
            assert env["REDIS_URL"] == f"redis://{user_name(name)}:{password}@redis:6379/0"
        else:
            assert "REDIS_URL" not in env  # ingest uses no Redis


def template_rules(prefix: str, password: str) -> list[str]:
    return acl_rules(prefix, {name: password.format(NAME=name.upper(), name=name) for name in (ADMIN, *REDIS_ACCESS)},
                     hashed=False)


def test_the_redis_acl_files_hold_exactly_the_users_and_rights_of_the_table():
    assert lines(REDIS_TEMPLATE) == template_rules("${REDIS_PREFIX}", "${{REDIS_{NAME}_PASSWORD}}")
    assert lines(K8S_EXAMPLE / "redis-users.acl") == template_rules("tm", "REPLACE-ME-redis-{name}")


def parse_user(line: str) -> tuple[str, list[str], list[str], list[str]]:
    """(name, keys read and written, keys only read, command rules) of an ACL file line."""
    _user, name, *rules = line.split()
    writes = [rule[1:] for rule in rules if rule.startswith("~")]
    reads = [rule[3:] for rule in rules if rule.startswith("%R~")]
    commands = [rule for rule in rules if rule[0] in "+-"]
    return name, writes, reads, commands


def test_the_redis_users_have_only_the_documented_rights():
    users = {parse_user(line)[0]: parse_user(line) for line in lines(REDIS_TEMPLATE)}
    assert lines(REDIS_TEMPLATE)[0].startswith("user default off")
    p = "${REDIS_PREFIX}"
    expected = {
        "metrics": ({f"{p}:*", f"{p}.*", f"{p}-attendance:*", f"{p}-attendance.*"}, set()),
        "statutory": ({f"{p}-statutory:*", f"{p}-statutory.*", f"{p}:{{*}}:changes"}, set()),
        "gateway": (set(), {f"{p}{suffix}" for suffix in (":*", ".*", "-statutory:*", "-statutory.*",
                                                          "-attendance:*", "-attendance.*")}),
    }
    for service, (writes, reads) in expected.items():
        _name, found_writes, found_reads, commands = users[user_name(service)]
        assert (set(found_writes), set(found_reads)) == (writes, reads), service
        assert commands[0] == "-@all" and commands[-1] == "-@dangerous", service  # no FLUSHALL, CONFIG, KEYS, ...
        assert "+@all" not in commands and "+@admin" not in commands
        assert ("+@write" in commands) == (service != "gateway")  # the gateway reads only
        assert "+@scripting" in commands if service != "gateway" else "+@scripting" not in commands
    assert set(users) == {"default", user_name(ADMIN), *(user_name(s) for s in REDIS_ACCESS)}


def k8s_credentials() -> dict[str, dict[str, str]]:
    found = {}
    for path in K8S_EXAMPLE.glob("*-credentials.env"):
        found[path.name.removesuffix("-credentials.env")] = dict(line.split("=", 1) for line in lines(path))
    return found


def test_each_kubernetes_service_gets_only_its_own_credentials():
    credentials = k8s_credentials()
    assert set(credentials) == {"ingest", "metrics", "statutory", "gateway"}
    acl = {parse_user(line)[0]: line for line in lines(K8S_EXAMPLE / "redis-users.acl")}
    kafka_users = dict(line.split("=", 1) for line in lines(K8S_EXAMPLE / "kafka-users.env"))
    settings = dict(line.split("=", 1) for line in lines(ROOT / "deploy" / "k8s" / "base" / "settings.env"))
    assert settings["KAFKA_CREATE_TOPICS"] == "false" and settings["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert "REDIS_URL" not in settings  # it carries a password: each service's own, in its credentials
    for service, values in credentials.items():
        assert ("KAFKA_SASL_PASSWORD" in values) == (service in KAFKA_USERS)
        if service in KAFKA_USERS:
            assert values["KAFKA_SASL_PASSWORD"] == kafka_users[f"KAFKA_{service.upper()}_PASSWORD"]
        assert ("REDIS_URL" in values) == (service in REDIS_ACCESS)
        if service in REDIS_ACCESS:
            user, password = re.match(r"redis://([^:]+):([^@]+)@", values["REDIS_URL"]).groups()  # type: ignore[union-attr]
            assert user == user_name(service) and f" >{password} " in acl[user]
    for service in KAFKA_USERS:
        manifest = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "base" / f"{service}.yaml").read_text())
        [deployment] = [d for d in manifest if d["kind"] == "Deployment"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert {e["name"]: e["value"] for e in container["env"]}["KAFKA_SASL_USERNAME"] == user_name(service)
