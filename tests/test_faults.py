"""The fault suite: `make run`'s stack keeps the figures exact through a `kill -9` of any part.

The stack runner (what `make run` calls) runs on its own embedded broker, valkey (with its
append-only log) and PostgreSQL. While results are posted and locked, each of ingest, metrics,
statutory, gateway, the broker and valkey is killed in turn (SIGKILL). After each, with no manual
step, the attainment figures the gateway serves for every period and subject posted must equal what
ingest accepted (computed here from the posts) within `RECOVERY_SECONDS`; `/readyz` must have said
"not ready" on the services that depend on the killed part while it was down, and "ready"
everywhere at the end. Each case prints how long the figures took to be exact again.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from tidemark_runtime.embedded import free_port
from tidemark_runtime.testing import eventually

pytestmark = pytest.mark.e2e

RECOVERY_SECONDS = 120
"""The stated bound: every figure is right again this long after a part was killed."""

SCHOOL, YEAR = "F-S1", "2025/26"
PUPILS = [f"F-P{n}" for n in range(1, 9)]
SUBJECTS = ("reading", "writing", "maths")
PERIODS = itertools.cycle(["AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2"])
BANDS = ("BELOW", "AT", "ABOVE")

VICTIMS = {
    # part: (what its command line holds, the services whose readiness depends on it)
    "ingest": ("tidemark_ingest", ()),
    "metrics": ("tidemark_metrics", ()),
    "statutory": ("tidemark_statutory", ()),
    "gateway": ("tidemark_gateway", ()),
    "broker": ("tansu", ("metrics", "statutory")),
    "valkey": ("valkey-server", ("metrics", "statutory", "gateway")),
}


@dataclass
class Running:
    runner: subprocess.Popen[str]
    stack: dict
    posted: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(pupil, period, subject) -> the band the latest accepted post locked."""

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.runner.pid).children(recursive=True)

    def process_of(self, fragment: str) -> psutil.Process:
        [found] = [c for c in self.children() if c.is_running() and fragment in " ".join(c.cmdline())]
        return found

    def client(self, service: str, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack["services"][service], timeout=10,
                            headers={"Authorization": f"Bearer {self.stack['tokens'][role]}"})

    def ready(self, service: str) -> int:
        try:
            return httpx.get(f"{self.stack['services'][service]}/readyz", timeout=2).status_code
        except httpx.HTTPError:
            return 0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state = tmp_path_factory.mktemp("faults") / "state"
    env = {**os.environ, "TIDEMARK_STATE_DIR": str(state), "TIDEMARK_GATEWAY_PORT": str(free_port()),
           "TIDEMARK_INGEST_PORT": str(free_port())}
    for inherited in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "REDIS_CLUSTER", "DATABASE_URL", "TIDEMARK_TOKENS",
                      "REDIS_PREFIX"):
        env.pop(inherited, None)
    runner = subprocess.Popen([sys.executable, "-m", "tidemark_runtime.stack", "run", "--no-demo"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        eventually(lambda: (state / "stack.json").exists() or runner.poll() is not None, timeout=120)
        assert runner.poll() is None, runner.stdout.read()  # type: ignore[union-attr]
        stack = Running(runner, json.loads((state / "stack.json").read_text()))
        with stack.client("ingest", "ingest") as ingest:
            assert ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Fault Hill"}]).status_code == 200
            assert ingest.post("/v1/pupils", json=[
                {"pupil_id": p, "school_id": SCHOOL, "year_group": "Y4", "sex": "F" if n % 2 else "M", "fsm6": False,
                 "lac": False, "plac": False, "sen": "N", "eal": False, "ethnicity": "WBRI"}
                for n, p in enumerate(PUPILS)
            ]).status_code == 200
        yield stack
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=120)
        Path(tmp_path_factory.getbasetemp() / "faults-runner.log").write_text(output)


def post_until_accepted(running: Running, path: str, body: object, deadline: float) -> None:
    """What a tracker does: send again until ingest accepts (it may be down, or restarting)."""
    while True:
        try:
            with running.client("ingest", "ingest") as ingest:
                answer = ingest.post(path, json=body)
            if answer.status_code == 200:
                return
            assert answer.status_code >= 500, answer.text  # a refusal of valid data would be a bug
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"ingest never accepted {path}"
        time.sleep(0.2)


def post_rounds(running: Running, rounds: int, seed: int) -> None:
    """Enter and lock a period's results for every pupil, `rounds` times (later rounds correct
    earlier ones when a period comes round again)."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    for round_ in range(rounds):
        period = next(PERIODS)
        rows = []
        for n, pupil in enumerate(PUPILS):
            for s, subject in enumerate(SUBJECTS):
                band = BANDS[(seed + round_ + n + s) % 3]
                rows.append({"pupil_id": pupil, "school_id": SCHOOL, "academic_year": YEAR, "period": period,
                             "year_group": "Y4", "subject": subject, "band": band})
        post_until_accepted(running, "/v1/assessments", rows, deadline)
        post_until_accepted(running, "/v1/assessments/lock",
                            {"school_id": SCHOOL, "academic_year": YEAR, "period": period}, deadline)
        running.posted.update({(row["pupil_id"], period, row["subject"]): row["band"] for row in rows})


def expected(running: Running) -> dict[tuple[str, str], tuple[int, int]]:
    """(period, subject) -> (pupils with a result, at or above), from what ingest accepted."""
    found: dict[tuple[str, str], tuple[int, int]] = {}
    for (_pupil, period, subject), band in running.posted.items():
        n, at_or_above = found.get((period, subject), (0, 0))
        found[(period, subject)] = (n + 1, at_or_above + (band != "BELOW"))
    return found


def served(running: Running) -> dict[tuple[str, str], tuple[int, int]] | None:
    """The same, as the gateway serves it (None while it cannot answer)."""
    found = {}
    try:
        with running.client("gateway", "viewer") as gateway:
            for period, subject in {(p, s) for (_pupil, p, s) in running.posted}:
                answer = gateway.get("/v1/reports/attainment", params={
                    "measure": subject, "by": "school", "academic_year": YEAR, "period": period})
                if answer.status_code != 200:
                    return None
                pupils = answer.json()["all_pupils"]
                found[(period, subject)] = (pupils["n"], pupils["at_or_above"])
    except httpx.HTTPError:
        return None
    return found


@pytest.mark.parametrize("victim", list(VICTIMS))
def test_killing_any_part_leaves_every_figure_exact_with_no_manual_step(running: Running, victim: str) -> None:
    fragment, dependents = VICTIMS[victim]
    eventually(lambda: all(running.ready(s) == 200 for s in running.stack["services"]), timeout=RECOVERY_SECONDS)
    poster = threading.Thread(target=post_rounds, args=(running, 3, len(running.posted)))
    poster.start()
    time.sleep(0.5)
    process = running.process_of(fragment)
    process.kill()  # kill -9, while results are posted and locked
    not_ready: set[str] = set()
    watch_until = time.monotonic() + 30
    while time.monotonic() < watch_until and (poster.is_alive() or not_ready != set(dependents)):
        not_ready |= {s for s in dependents if running.ready(s) != 200}
        time.sleep(0.1)
    poster.join(RECOVERY_SECONDS)
    assert not poster.is_alive(), "the posts were not accepted in time"

    started = time.monotonic()
    eventually(lambda: served(running) == expected(running), timeout=RECOVERY_SECONDS)
    eventually(lambda: all(running.ready(s) == 200 for s in running.stack["services"]), timeout=RECOVERY_SECONDS)
    assert not_ready == set(dependents), f"/readyz said ready while {victim} was down: {set(dependents) - not_ready}"
    print(f"{victim}: exact again {time.monotonic() - started:.1f} s after the posts were accepted")
