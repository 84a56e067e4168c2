"""Benchmark bulk import: rows per second from upload to stored, and from upload to visible on the
dashboard, for a 300,000-row file.

Usage:

    make bench-import                                   # 300,000 summative results, one row per result
    .venv/bin/python bench/imports.py --pupils 1000     # a quicker look (60,000 rows)

Self-contained: it starts its own embedded PostgreSQL, broker (Tansu) and valkey (each service
logging in as its own user, appending with fsync as under `make run`) and the four services as
processes on loopback (ingest migrated, its relay publishing; metrics and statutory consuming; the
gateway reading), and stops only those. It posts the pupils (`--pupils` pupils of one school, Year
4) through `POST /v1/pupils` and waits until they are applied, then writes a CSV of their results
for six half-terms x ten subjects (one row per result: 5,000 pupils make 300,000 rows), and times,
from the upload:

1. ready: `POST /v1/imports` until `GET /v1/imports/{id}` says `ready` (read, validated);
2. stored: `POST /v1/imports/{id}/commit` until `done` (stored as drafts, the events in the outbox);
3. locked: `POST /v1/assessments/lock` for each half-term (imports are drafts: only locked results count);
4. published: the outbox drained (every event of the drafts and locks on the broker);
5. visible: the gateway's Summative Dashboard JSON (`GET /v1/dashboards/summative`, fed by the real
   projection) shows, for every half-term, the imported figures: each of reading, writing, maths and
   combined RWM with every pupil assessed and the expected number at or above;
then the same file again (nothing changes: the re-import path, to stored).

Prints a plain-text summary with the machine's load (load average, CPUs) and the CPU seconds each
process used, then the figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from tidemark_runtime.access import RedisCredentials
from tidemark_runtime.embedded import LOOPBACK, free_port, start_postgres, start_tansu, start_valkey
from tidemark_runtime.kafka import ensure_topics
from tidemark_runtime.settings import PlatformSettings
from tidemark_runtime.stack import (
    SERVICE_MODULES,
    migrate_database,
    service_credentials,
    service_environment,
    start_services,
    wait_until_applied,
)
from tidemark_schemas.vocabulary import PRIMARY_SUBJECTS

TRUST = "bench-trust"
TOKEN = "bench-ingest"
VIEWER = "bench-viewer"
YEAR = "2025/26"
PERIODS = ("AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2")
SUBJECTS = PRIMARY_SUBJECTS[:10]
BANDS = ("BELOW", "AT", "ABOVE")
PARTITIONS = 6
DASHBOARD_MEASURES = ("reading", "writing", "maths")


def pupils(count: int) -> list[dict[str, Any]]:
    return [{"pupil_id": f"B{n:06d}", "school_id": "S1", "year_group": "Y4", "sex": "FM"[n % 2], "fsm6": n % 5 == 0,
             "lac": False, "plac": False, "sen": "N", "eal": False, "ethnicity": "WBRI"} for n in range(count)]


def band(pupil: int, subject: int) -> str:
    return BANDS[(pupil + subject) % 3]


def results_file(count: int) -> bytes:
    text = io.StringIO()
    text.write("pupil_id,school_id,academic_year,period,year_group,subject,band\n")
    for n in range(count):
        for period in PERIODS:
            for i, subject in enumerate(SUBJECTS):
                text.write(f"B{n:06d},S1,{YEAR},{period},Y4,{subject},{band(n, i)}\n")
    return text.getvalue().encode()


def expected_tiles(count: int) -> dict[str, tuple[int, int]]:
    """Each dashboard measure -> (pupils assessed, at or above), the same in every half-term."""
    at_or_above = {subject: sum(band(n, SUBJECTS.index(subject)) != "BELOW" for n in range(count))
                   for subject in DASHBOARD_MEASURES}
    rwm = sum(all(band(n, SUBJECTS.index(s)) != "BELOW" for s in DASHBOARD_MEASURES) for n in range(count))
    return {**{subject: (count, at) for subject, at in at_or_above.items()}, "rwm": (count, rwm)}


def wait(client: httpx.Client, import_id: str, working: str) -> dict[str, Any]:
    while True:
        status: dict[str, Any] = client.get(f"/v1/imports/{import_id}").raise_for_status().json()
        if status["state"] != working:
            return status
        time.sleep(0.1)


def dashboard_tiles(gateway: httpx.Client, period: str) -> dict[str, tuple[int, int]] | None:
    answer = gateway.get("/v1/dashboards/summative", params={"academic_year": YEAR, "period": period})
    if answer.status_code != 200:  # 503 while a projection is restoring
        return None
    return {tile["measure"]: (tile["n"], tile["at_or_above"]) for tile in answer.json()["primary_subjects"]}


class CpuSeconds:
    """CPU seconds used by each process of the stack between `start` and `stop` (children included)."""

    def __init__(self, processes: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.before: dict[str, float] = {}

    @staticmethod
    def _used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            children = sum(c.cpu_times().user + c.cpu_times().system for c in process.children(recursive=True))
        except psutil.Error:
            return 0.0
        return times.user + times.system + children

    def start(self) -> None:
        self.before = {name: self._used(p) for name, p in self.processes.items()}

    def stop(self) -> dict[str, float]:
        return {name: round(self._used(p) - self.before[name], 1) for name, p in self.processes.items()}


def to_visible(ingest: httpx.Client, gateway: httpx.Client, content: bytes, expected: dict[str, tuple[int, int]],
               timeout: float) -> dict[str, Any]:
    """Upload, commit, lock each half-term, until the dashboard shows every figure; seconds from the upload."""
    started = time.perf_counter()
    answer = ingest.post("/v1/imports", files={"file": ("results.csv", content)}, data={"kind": "summative"})
    import_id = answer.raise_for_status().json()["import_id"]
    ready = wait(ingest, import_id, "validating")
    assert ready["state"] == "ready", ready["errors"][:5]
    validated = time.perf_counter()
    ingest.post(f"/v1/imports/{import_id}/commit").raise_for_status()
    done = wait(ingest, import_id, "storing")
    assert done["state"] == "done", done
    stored = time.perf_counter()
    for period in PERIODS:
        ingest.post("/v1/assessments/lock", json={"school_id": "S1", "academic_year": YEAR, "period": period}
                    ).raise_for_status()
    locked = time.perf_counter()
    published: float | None = None
    waiting = set(PERIODS)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        if published is None and ingest.get("/status").json()["outbox_backlog"] == 0:
            published = time.perf_counter()
        waiting = {p for p in waiting if dashboard_tiles(gateway, p) != expected}
        if waiting:
            time.sleep(0.1)
    if waiting:
        raise TimeoutError(f"the dashboard did not show the import within {timeout}s: {sorted(waiting)}; last "
                           f"{dashboard_tiles(gateway, sorted(waiting)[0])}, expected {expected}")
    visible = time.perf_counter()
    published = published or visible
    rows = done["rows_stored"]
    return {"rows": rows, "ready_seconds": validated - started, "stored_seconds": stored - started,
            "locked_seconds": locked - started, "published_seconds": published - started,
            "visible_seconds": visible - started, "rows_per_second_stored": rows / (stored - started),
            "rows_per_second_visible": rows / (visible - started)}


def to_stored(ingest: httpx.Client, content: bytes) -> dict[str, Any]:
    started = time.perf_counter()
    answer = ingest.post("/v1/imports", files={"file": ("results.csv", content)}, data={"kind": "summative"})
    import_id = answer.raise_for_status().json()["import_id"]
    assert wait(ingest, import_id, "validating")["state"] == "ready"
    ingest.post(f"/v1/imports/{import_id}/commit").raise_for_status()
    done = wait(ingest, import_id, "storing")
    assert done["state"] == "done", done
    seconds = time.perf_counter() - started
    return {"rows": done["rows_stored"], "stored_seconds": seconds, "rows_per_second_stored": done["rows_stored"] / seconds}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tidemark-bench-import-") as temporary:
        workdir = Path(temporary)
        credentials = RedisCredentials.generate(PlatformSettings().redis_prefix)
        postgres = start_postgres(workdir / "pg", log_dir=workdir, durable=False)
        kafka = start_tansu(log_dir=workdir)
        valkey = start_valkey(log_dir=workdir, data_dir=workdir / "valkey",
                              acl_file=credentials.write(workdir / "valkey-users.acl"))
        services = []
        try:
            asyncio.run(ensure_topics(kafka.url, PARTITIONS))
            migrate_database(postgres.url, workdir / "migrate.log")
            ports = {name: free_port() for name in SERVICE_MODULES}
            ingest_url = f"http://{LOOPBACK}:{ports['ingest']}"
            env = service_environment(
                kafka.url, valkey.url, postgres.url, PARTITIONS, ingest_url=ingest_url,
                replay_token=secrets.token_urlsafe(24),
                tokens={TOKEN: {"trust_id": TRUST, "role": "ingest"}, VIEWER: {"trust_id": TRUST, "role": "viewer"}})
            env |= {"LOG_LEVEL": "WARNING", "LOG_FORMAT": "text"}
            services = start_services(env, LOOPBACK, ports, workdir / "logs",
                                      service_credentials(valkey.url, credentials))
            cpu = CpuSeconds({**{s.name: s.process.pid for s in services}, "tansu": kafka.process.pid,
                              "valkey": valkey.process.pid, "postgres": postgres.process.pid})
            with (httpx.Client(base_url=ingest_url, timeout=600, headers={"Authorization": f"Bearer {TOKEN}"})
                  as ingest,
                  httpx.Client(base_url=f"http://{LOOPBACK}:{ports['gateway']}", timeout=60,
                               headers={"Authorization": f"Bearer {VIEWER}"}) as gateway):
                ingest.post("/v1/schools", json=[{"school_id": "S1", "name": "Bench Primary"}]).raise_for_status()
                roll = pupils(args.pupils)
                for start in range(0, len(roll), 20_000):
                    ingest.post("/v1/pupils", json=roll[start:start + 20_000]).raise_for_status()
                wait_until_applied(ingest_url, kafka.url, lambda: False, timeout=600)
                content = results_file(args.pupils)
                load_before = os.getloadavg()
                cpu.start()
                first = to_visible(ingest, gateway, content, expected_tiles(args.pupils), args.timeout)
                first_cpu = cpu.stop()
                load_after = os.getloadavg()
                again = to_stored(ingest, content)
            return {"file_bytes": len(content), "first": first, "again": again, "cpu_seconds": first_cpu,
                    "cpus": os.cpu_count(), "load_before": load_before, "load_after": load_after}
        finally:
            for service in services:
                service.stop()
            valkey.stop()
            kafka.stop()
            postgres.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/imports.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=5_000, help="pupils; 60 rows each (default 5,000: 300,000 rows)")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for the dashboard, seconds")
    result = run(parser.parse_args(argv))
    first, again = result["first"], result["again"]
    print(f"{first['rows']} rows ({result['file_bytes'] / 1e6:.1f} MB), seconds from the upload:")
    print(f"  ready (validated)  {first['ready_seconds']:7.1f}")
    print(f"  stored (drafts)    {first['stored_seconds']:7.1f}   {first['rows_per_second_stored']:8,.0f} rows/s")
    print(f"  locked (6 locks)   {first['locked_seconds']:7.1f}")
    print(f"  published          {first['published_seconds']:7.1f}")
    print(f"  visible            {first['visible_seconds']:7.1f}   {first['rows_per_second_visible']:8,.0f} rows/s")
    print(f"again (nothing changes): stored in {again['stored_seconds']:.1f}s = "
          f"{again['rows_per_second_stored']:,.0f} rows/s")
    print(f"machine: {result['cpus']} CPUs, load average {' '.join(f'{x:.2f}' for x in result['load_before'])} before, "
          f"{' '.join(f'{x:.2f}' for x in result['load_after'])} after")
    print("CPU seconds, upload to visible: " + ", ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items()))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
