"""`tidemark-stack run`: the whole platform on one machine, from nothing but this virtualenv.

Starts the embedded broker, Redis and PostgreSQL on loopback (or uses the servers given in
KAFKA_BOOTSTRAP_SERVERS, REDIS_URL and DATABASE_URL), creates the topics, migrates the SQL store,
starts the four services as separate processes, loads the demo Trust (once: a restart finds it
stored), prints the dashboard URL and tokens and writes them to `.tidemark/stack.json`.
With `REDIS_CLUSTER=true` and `REDIS_URL` naming a node of a Redis Cluster, the services use that
cluster.

It supervises what it started: a service, the broker, valkey or PostgreSQL that stops is started
again on the same port, with a growing pause (1 s, 2 s, 4 s ... up to 30 s; back to 1 s after a
minute up), and the runner says so. It stops only on Ctrl-C or SIGTERM, and then stops every
process it started (and only those). Stored data lives in `.tidemark/data/` (PostgreSQL's files,
valkey's append-only log) and survives restarts; `tidemark-stack run --reset` (or `make reset`)
deletes it first. The embedded broker keeps topics in memory: after it restarts, the projections
notice and rebuild from the SQL store by themselves.

The embedded valkey admits only the users of `tidemark_runtime.access` (passwords made afresh at
every start, its default user off): each service gets its own in REDIS_URL. The embedded Tansu
cannot authenticate in this shape (docs/architecture.md, "Security"): it listens on loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from tidemark_runtime.access import ADMIN, REDIS_ACCESS, RedisCredentials
from tidemark_runtime.embedded import (
    LOOPBACK,
    EmbeddedProcess,
    free_port,
    start_postgres,
    start_tansu,
    start_valkey,
)
from tidemark_runtime.kafka import KafkaTarget, consumer_lag, ensure_topics
from tidemark_runtime.settings import KafkaSettings, PlatformSettings
from tidemark_schemas import topics

DEMO_TRUST = "demo-trust"
DEMO_TRUST_NAME = "Tidemark Demo Academy Trust"
"""What the demo Trust's board packs are headed with (TRUST_NAMES)."""
DEMO_TOKEN_VARIABLE = "TIDEMARK_INGEST_TOKEN"
"""The environment variable that hands the demo loader its ingest token (`tidemark-demo load`)."""


class StackSettings(BaseSettings):
    """Where the stack listens (override with TIDEMARK_GATEWAY_PORT, TIDEMARK_INGEST_PORT, ...)."""

    model_config = SettingsConfigDict(env_prefix="TIDEMARK_")

    host: str = LOOPBACK
    gateway_port: int = 8000
    ingest_port: int = 8001
    state_dir: Path = Path(".tidemark")
    kafka_topic_partitions: int = 6
    demo_seed: int = 2026
    demo_registers: bool = True
    """Post the demo Trust's registers in the background (TIDEMARK_DEMO_REGISTERS=false: not, as
    `make bench-recovery` does by default, so that the millions of marks do not load the machine
    while it measures)."""


class ClusterSettings(BaseSettings):
    """A Redis Cluster to run on instead of the embedded valkey: `REDIS_CLUSTER=true` and `REDIS_URL`."""

    redis_cluster: bool = False
    redis_url: str | None = None

    @property
    def cluster_url(self) -> str | None:
        return self.redis_url if self.redis_cluster and self.redis_url else None


@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    health_url: str
    log_path: Path

    @property
    def ready_url(self) -> str:
        return self.health_url.removesuffix("/healthz") + "/readyz"

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


SERVICE_MODULES = {
    "ingest": "tidemark_ingest.entrypoints.cli",
    "metrics": "tidemark_metrics.entrypoints.cli",
    "statutory": "tidemark_statutory.entrypoints.cli",
    "gateway": "tidemark_gateway.entrypoints.cli",
}


MIGRATE = [sys.executable, "-m", SERVICE_MODULES["ingest"], "migrate"]
"""The prestart step: `tidemark-ingest migrate`, run before ingest starts in every deployment shape."""


def migrate_database(database_url: str, log_path: Path | None = None) -> None:
    """Bring the SQL store to the latest schema (nothing to do when it is there already)."""
    finished = subprocess.run(MIGRATE, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, check=False)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(finished.stdout + finished.stderr)
    if finished.returncode != 0:
        raise RuntimeError(f"migrating the SQL store failed ({finished.returncode}):\n{finished.stderr[-3000:]}")


DEMO_SCHOOL = "S01"
"""The demo school leader's school (the demo Trust's first school)."""
DEMO_ACCOUNTS = [sys.executable, "-m", "tidemark_identity.cli", "demo", "--trust", DEMO_TRUST, "--school", DEMO_SCHOOL]
"""`tidemark-admin demo`: the demo Trust's people and keys (run as a process: the identity library
depends on this one, not the other way round)."""


def create_demo_accounts(database_url: str) -> dict[str, Any]:
    """The demo admin, one person per role, an ingest key and a reader key, with generated secrets:
    `{"admin": {"email", "password"}, "people", "password", "tokens": {"ingest", "viewer"}}`."""
    finished = subprocess.run(DEMO_ACCOUNTS, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"creating the demo accounts failed ({finished.returncode}):\n{finished.stderr[-3000:]}")
    accounts: dict[str, Any] = json.loads(finished.stdout)
    return accounts


def spawn_service(name: str, env: dict[str, str], host: str, port: int, log_dir: Path) -> ServiceProcess:
    """One service in its own process (and session, so a terminal's Ctrl-C reaches only the runner)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", SERVICE_MODULES[name]],
            env={**os.environ, **env, "HOST": host, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return ServiceProcess(name, process, f"http://{host}:{port}/healthz", log_path)


def wait_healthy(services: list[ServiceProcess], timeout: float = 180.0) -> None:
    """Until every service is ready: its /readyz answers 200 (its dependencies answer and, for a
    projection, its read model is whole), or /healthz where it serves no /readyz."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    with httpx.Client(timeout=5.0) as client:
        while pending and time.monotonic() < deadline:
            for service in list(pending):
                if service.process.poll() is not None:
                    tail = service.log_path.read_text(errors="replace")[-2000:] if service.log_path.exists() else ""
                    raise RuntimeError(f"{service.name} exited early; see {service.log_path}:\n{tail}")
                try:
                    answer = client.get(service.ready_url)
                    if answer.status_code == 404:
                        answer = client.get(service.health_url)
                    if answer.status_code < 300:
                        pending.remove(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
    if pending:
        raise TimeoutError(f"not ready after {timeout}s: {[s.name for s in pending]}")


def service_environment(
    kafka: str, redis_url: str, database_url: str, partitions: int, ingest_url: str,
    replay_token: str, redis_cluster: bool = False, tokens: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Every service's environment. People and API keys are in the SQL store (DATABASE_URL, which the
    gateway reads too); `tokens` (TIDEMARK_TOKENS) is the development and test fallback only."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "KAFKA_IDEMPOTENT_PRODUCER": "false",  # Tansu answers InitProducerId with an error
        "KAFKA_TOPIC_PARTITIONS": str(partitions),
        "REDIS_URL": redis_url,
        "REDIS_CLUSTER": "true" if redis_cluster else "false",
        "DATABASE_URL": database_url,
        "TIDEMARK_TOKENS": json.dumps(tokens or {}),
        "INGEST_URL": ingest_url,  # where the projections read the replay they rebuild from
        "REPLAY_TOKEN": replay_token,
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "json"),  # one JSON object a line in .tidemark/logs
        "TRUST_NAMES": os.environ.get("TRUST_NAMES", json.dumps({DEMO_TRUST: DEMO_TRUST_NAME})),  # board packs
    }


def service_credentials(redis_url: str, credentials: RedisCredentials | None) -> dict[str, dict[str, str]]:
    """What each service's environment adds to the shared one: its own REDIS_URL, logging in as its
    own user (`tidemark_runtime.access`); nothing without credentials (a Redis given as it is)."""
    if credentials is None:
        return {}
    return {service: {"REDIS_URL": credentials.url(redis_url, service)} for service in REDIS_ACCESS}


def start_services(
    env: dict[str, str], host: str, ports: dict[str, int], log_dir: Path,
    per_service: Mapping[str, Mapping[str, str]] | None = None,
) -> list[ServiceProcess]:
    own = per_service or {}
    services = [spawn_service(name, {**env, **own.get(name, {})}, host, ports[name], log_dir) for name in SERVICE_MODULES]
    try:
        wait_healthy(services)
    except Exception:
        for service in services:
            service.stop()
        raise
    return services


def start_demo_loader(
    ingest_url: str, token: str, seed: int, *options: str, command: str = "load"
) -> subprocess.Popen[bytes]:
    """`tidemark-demo load` (or `registers`) in its own process. The token goes through the
    environment, never the command line: a generated token may start with "-" and would be read as
    an option."""
    return subprocess.Popen(
        [sys.executable, "-m", "tidemark_tools.demo.cli", command, "--ingest-url", ingest_url, "--seed", str(seed),
         *options],
        env={**os.environ, DEMO_TOKEN_VARIABLE: token},
        start_new_session=True,
    )


CONSUMER_GROUPS = {
    "tidemark-metrics": (topics.SCHOOLS, topics.PUPILS, topics.ASSESSMENTS),
    "tidemark-statutory": (topics.STATUTORY, topics.PUPILS, topics.ASSESSMENTS),
    "tidemark-attendance": (topics.PUPILS, topics.ATTENDANCE),
}


def wait_until_applied(
    ingest_url: str, kafka: KafkaTarget, stopping: Callable[[], bool], timeout: float = 900.0, tend: Callable[[], None] = lambda: None,
) -> None:
    """Until the outbox is drained and every consumer group has committed everything published
    (`tend` keeps the supervised processes running meanwhile)."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    with httpx.Client(timeout=10.0) as client:
        while not stopping() and time.monotonic() < deadline:
            backlog = client.get(f"{ingest_url}/status").json()["outbox_backlog"]
            lag = 0 if backlog else sum(
                asyncio.run(consumer_lag(kafka, group, group_topics)) for group, group_topics in CONSUMER_GROUPS.items()
            )
            if backlog == 0 and lag == 0:
                return
            if time.monotonic() - last_report > 5:
                print(f"  applying: {backlog} events to publish, {lag} to consume", flush=True)
                last_report = time.monotonic()
            tend()
            time.sleep(0.5)
    if not stopping():
        raise TimeoutError("the demo Trust was not applied in time")


REGISTERS_MARKER = "demo-registers-loaded"


def start_registers(
    settings: StackSettings, data_dir: Path, database_url: str, ingest_url: str, token: str
) -> subprocess.Popen[bytes] | None:
    """The demo Trust's registers (millions of marks: every school day of three years), posted in the
    background once the stack is up, so `make run` starts no slower: the attendance pages fill as
    they arrive, live. Once per stored database, like the demo Trust."""
    marker = data_dir / REGISTERS_MARKER
    if marker.exists() and marker.read_text() == database_url:
        return None
    print("Loading the demo registers in the background (attendance pages fill as they arrive) ...", flush=True)
    return start_demo_loader(ingest_url, token, settings.demo_seed, command="registers")


def registers_done(loader: subprocess.Popen[bytes], data_dir: Path, database_url: str) -> None:
    """Note a finished registers loader (and remember a success for the next run)."""
    if loader.returncode == 0:
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / REGISTERS_MARKER).write_text(database_url)
        print("Demo registers loaded.", flush=True)
    else:
        print("Loading the demo registers failed (see above); the rest of the demo is unaffected.", flush=True)


class Running(Protocol):
    """A process the stack started: an embedded server or a service."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = ...) -> None: ...


RESTART_PAUSE_MAX = 30.0
HEALTHY_AFTER = 60.0
"""A process up this long counts as healthy again: its next restart pauses 1 s."""


@dataclass
class Supervised:
    """One process the stack keeps running: started again on the same port when it stops."""

    name: str
    start: Callable[[], Running]
    running: Running
    started_at: float = field(default_factory=time.monotonic)
    failures: int = 0
    restart_at: float | None = None

    def pause(self) -> float:
        return min(RESTART_PAUSE_MAX, 2.0 ** (self.failures - 1))


@dataclass
class Supervisor:
    """Restarts what stopped, with a growing pause, and says so; stops everything in reverse order."""

    say: Callable[[str], None] = lambda line: print(line, flush=True)
    members: list[Supervised] = field(default_factory=list)

    def keep(self, name: str, start: Callable[[], Running]) -> Running:
        """Start `name` now and keep it running."""
        running = start()
        self.members.append(Supervised(name, start, running))
        return running

    def tend(self) -> None:
        """Restart whatever stopped and whose pause is over (call it often)."""
        now = time.monotonic()
        for member in self.members:
            if member.restart_at is None:
                code = member.running.process.poll()
                if code is None:
                    continue
                member.failures = 1 if now - member.started_at >= HEALTHY_AFTER else member.failures + 1
                member.restart_at = now + member.pause()
                self.say(f"{member.name} stopped (exit code {code}); restarting in {member.pause():.0f} s "
                         f"(log: {member.running.log_path})")
            elif now >= member.restart_at:
                try:
                    member.running = member.start()
                except Exception as error:  # e.g. its port is still held: try again after a longer pause
                    member.failures += 1
                    member.restart_at = now + member.pause()
                    self.say(f"{member.name} did not start ({error}); trying again in {member.pause():.0f} s")
                    continue
                member.started_at, member.restart_at = now, None
                self.say(f"{member.name} restarted (pid {member.running.process.pid})")

    def stop(self) -> None:
        for member in reversed(self.members):
            member.running.stop()


def _redacted(url: str) -> str:
    """A server's URL fit to print: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def backend(variable: str, what: str, start: Callable[[int], EmbeddedProcess], supervisor: Supervisor) -> str:
    """The server given in the environment variable, else the embedded one, started now on a free
    port and kept running on that port."""
    if given := os.environ.get(variable):
        print(f"Using the {what} given in {variable}: {_redacted(given)}", flush=True)
        return given
    port = free_port()
    embedded = start(port)
    supervisor.members.append(Supervised(embedded.name, lambda: start(port), embedded))
    print(f"Started the embedded {what} ({embedded.name}) at {embedded.url}", flush=True)
    return embedded.url


def write_private(path: Path, text: str) -> None:
    """Write `path` readable by this user only (tokens, passwords), whole at once: a reader that
    waits for the file to exist never sees it half written."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(text)
    partial.replace(path)


def run(settings: StackSettings, load_demo: bool, redis_cluster: bool = False, reset: bool = False) -> int:
    data_dir, log_dir = settings.state_dir / "data", settings.state_dir / "logs"
    stack_file = settings.state_dir / "stack.json"
    stack_file.unlink(missing_ok=True)  # written once everything is ready, removed when it stops
    if reset:
        print(f"Deleting the stored data in {data_dir} (--reset) ...", flush=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    supervisor = Supervisor()
    stopping = False
    registers: subprocess.Popen[bytes] | None = None

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        kafka = backend("KAFKA_BOOTSTRAP_SERVERS", "Kafka broker",
                        lambda port: start_tansu(port, log_dir=log_dir), supervisor)
        kafka_target: KafkaTarget = kafka  # the embedded Tansu: plaintext
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # a given broker: reached as the environment says (SASL, ...)
            kafka_target = KafkaSettings(kafka_bootstrap_servers=kafka)
        credentials = None if os.environ.get("REDIS_URL") else RedisCredentials.generate(PlatformSettings().redis_prefix)
        acl_file = None if credentials is None else credentials.write(settings.state_dir / "valkey-users.acl")
        redis_url = backend("REDIS_URL", "Redis",
                            lambda port: start_valkey(port, log_dir=log_dir, data_dir=data_dir / "valkey",
                                                      acl_file=acl_file), supervisor)
        database_url = backend("DATABASE_URL", "PostgreSQL",
                               lambda port: start_postgres(data_dir / "postgres", port=port, log_dir=log_dir), supervisor)
        asyncio.run(ensure_topics(kafka_target, settings.kafka_topic_partitions))
        print("Migrating the SQL store (tidemark-ingest migrate) ...", flush=True)
        migrate_database(database_url, log_dir / "migrate.log")

        print("Creating the demo accounts (tidemark-admin demo) ...", flush=True)
        accounts = create_demo_accounts(database_url)
        tokens: dict[str, str] = accounts["tokens"]
        ports = {
            "gateway": settings.gateway_port,
            "ingest": settings.ingest_port,
            "metrics": free_port(),
            "statutory": free_port(),
        }
        env = service_environment(
            kafka,
            redis_url,
            database_url,
            settings.kafka_topic_partitions,
            ingest_url=f"http://{settings.host}:{ports['ingest']}",
            replay_token=secrets.token_urlsafe(24),
            redis_cluster=redis_cluster,
        )
        own = service_credentials(redis_url, credentials)
        print("Starting ingest, metrics, statutory and gateway ...", flush=True)
        services = start_services(env, settings.host, ports, log_dir, own)
        for service in services:
            restart = functools.partial(spawn_service, service.name, {**env, **own.get(service.name, {})},
                                        settings.host, ports[service.name], log_dir)
            supervisor.members.append(Supervised(service.name, restart, service))
        gateway_url = f"http://{settings.host}:{ports['gateway']}"
        ingest_url = f"http://{settings.host}:{ports['ingest']}"
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        demo_marker = data_dir / "demo-loaded"
        if load_demo and not stopping and demo_marker.exists() and demo_marker.read_text() == database_url:
            print("The demo Trust is stored already (from an earlier run).", flush=True)
        elif load_demo and not stopping:
            print("Loading the demo Trust (about 4,000 pupils, three years of half-terms) ...", flush=True)
            started = time.monotonic()
            loader = start_demo_loader(ingest_url, tokens["ingest"], settings.demo_seed)
            while loader.poll() is None:
                if stopping:
                    loader.terminate()
                    loader.wait(10)
                    return 0
                supervisor.tend()
                time.sleep(0.2)
            if loader.returncode != 0:
                print("Loading the demo Trust failed (see above).", flush=True)
                return 1
            wait_until_applied(ingest_url, kafka_target, lambda: stopping, tend=supervisor.tend)
            data_dir.mkdir(parents=True, exist_ok=True)
            demo_marker.write_text(database_url)
            print(f"Demo Trust loaded and applied in {time.monotonic() - started:.0f}s.", flush=True)
        services_urls = {name: f"http://{settings.host}:{port}" for name, port in ports.items()}
        # Each service's Redis login and the operators' (for `tidemark-metrics reconcile`, redis-cli, ...).
        redis_urls = {name: own_env["REDIS_URL"] for name, own_env in own.items()}
        if credentials is not None:
            redis_urls["admin"] = credentials.url(redis_url, ADMIN)
        write_private(stack_file, json.dumps(
            {"gateway_url": gateway_url, "ingest_url": ingest_url, "tokens": tokens, "admin": accounts["admin"],
             "services": services_urls, "redis_urls": redis_urls}, indent=2
        ))
        people = "".join(
            f"               {p['email']:<28} {p['role']}{' of ' + ', '.join(p['schools']) if p['schools'] else ''}\n"
            for p in accounts["people"]
        )
        print(
            f"\nTidemark is running.\n"
            f"  Dashboard:   {gateway_url}/   sign in with any of these, password {accounts['password']}\n"
            f"{people}"
            f"  Gateway API: {gateway_url}/docs   (reader API key: {tokens['viewer']})\n"
            f"  Ingest API:  {ingest_url}/docs   (ingest API key: {tokens['ingest']})\n"
            f"  Written to {stack_file}; stored data in {data_dir}/, logs in {log_dir}/\n"
            f"A process that stops is started again. Press Ctrl-C to stop.",
            flush=True,
        )
        registers = (
            start_registers(settings, data_dir, database_url, ingest_url, tokens["ingest"])
            if load_demo and settings.demo_registers else None
        )
        while not stopping:
            supervisor.tend()
            if registers is not None and registers.poll() is not None:
                registers_done(registers, data_dir, database_url)
                registers = None
            time.sleep(0.5)
        return 0
    finally:
        if registers is not None and registers.poll() is None:
            registers.terminate()
            registers.wait(10)
        print("Stopping every process this run started ...", flush=True)
        stack_file.unlink(missing_ok=True)
        supervisor.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tidemark-stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="start everything and load the demo Trust")
    run_parser.add_argument("--no-demo", action="store_true", help="start empty")
    run_parser.add_argument("--reset", action="store_true",
                            help="delete the stored data (.tidemark/data) first: a clean start")
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(StackSettings(), load_demo=not args.no_demo,
                   redis_cluster=ClusterSettings().cluster_url is not None, reset=args.reset)
    return 2


if __name__ == "__main__":
    sys.exit(main())
