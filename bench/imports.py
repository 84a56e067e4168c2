"""Benchmark bulk import: rows per second from upload to stored for a 300,000-row file.

Usage:

    make bench-import                                   # 300,000 summative results, one row per result
    .venv/bin/python bench/imports.py --pupils 1000     # a quicker look (60,000 rows)

Self-contained: it starts its own embedded PostgreSQL and broker (Tansu) and a real `tidemark-ingest`
process on loopback (migrated, its outbox relay publishing), and stops only those. It posts the
pupils (`--pupils` pupils of one school, Year 4) through `POST /v1/pupils`, then writes a CSV of
their results for six half-terms x ten subjects (one row per result: 5,000 pupils make 300,000
rows), and times:

1. upload -> ready: `POST /v1/imports` until `GET /v1/imports/{id}` says `ready` (read, validated);
2. commit -> done: `POST /v1/imports/{id}/commit` until `done` (stored, with the events in the outbox);
3. the whole, upload to stored, as rows per second;
then the same file again (nothing changes: the re-import path).

Prints a plain-text summary, then the figures as one JSON line. (Dashboards are fed from the
outbox by the relay and the projections; that part is measured by `make bench`.)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tidemark_runtime.embedded import LOOPBACK, free_port, start_postgres, start_tansu
from tidemark_runtime.stack import MIGRATE, spawn_service, wait_healthy
from tidemark_schemas.vocabulary import PRIMARY_SUBJECTS

TRUST = "bench-trust"
TOKEN = "bench-ingest"
PERIODS = ("AUT1", "AUT2", "SPR1", "SPR2", "SUM1", "SUM2")
SUBJECTS = PRIMARY_SUBJECTS[:10]
BANDS = ("BELOW", "AT", "ABOVE")


def pupils(count: int) -> list[dict[str, Any]]:
    return [{"pupil_id": f"B{n:06d}", "school_id": "S1", "year_group": "Y4", "sex": "FM"[n % 2], "fsm6": n % 5 == 0,
             "lac": False, "plac": False, "sen": "N", "eal": False, "ethnicity": "WBRI"} for n in range(count)]


def results_file(count: int) -> bytes:
    text = io.StringIO()
    text.write("pupil_id,school_id,academic_year,period,year_group,subject,band\n")
    for n in range(count):
        for period in PERIODS:
            for i, subject in enumerate(SUBJECTS):
                text.write(f"B{n:06d},S1,2025/26,{period},Y4,{subject},{BANDS[(n + i) % 3]}\n")
    return text.getvalue().encode()


def wait(client: httpx.Client, import_id: str, working: str) -> dict[str, Any]:
    while True:
        status: dict[str, Any] = client.get(f"/v1/imports/{import_id}").raise_for_status().json()
        if status["state"] != working:
            return status
        time.sleep(0.1)


def one_import(client: httpx.Client, content: bytes) -> dict[str, float]:
    started = time.perf_counter()
    answer = client.post("/v1/imports", files={"file": ("results.csv", content)}, data={"kind": "summative"})
    import_id = answer.raise_for_status().json()["import_id"]
    ready = wait(client, import_id, "validating")
    assert ready["state"] == "ready", ready["errors"][:5]
    validated = time.perf_counter()
    client.post(f"/v1/imports/{import_id}/commit").raise_for_status()
    done = wait(client, import_id, "storing")
    assert done["state"] == "done", done
    finished = time.perf_counter()
    rows = done["rows_stored"]
    return {"rows": rows, "validate_seconds": validated - started, "store_seconds": finished - validated,
            "seconds": finished - started, "rows_per_second": rows / (finished - started)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tidemark-bench-import-") as temporary:
        workdir = Path(temporary)
        postgres = start_postgres(workdir / "pg", log_dir=workdir, durable=False)
        kafka = start_tansu(log_dir=workdir)
        ingest = None
        try:
            env = {"DATABASE_URL": postgres.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.url, "LOG_LEVEL": "WARNING",
                   "TIDEMARK_TOKENS": json.dumps({TOKEN: {"trust_id": TRUST, "role": "ingest"}})}
            subprocess.run(MIGRATE, env={**os.environ, **env}, check=True, capture_output=True)
            port = free_port()
            ingest = spawn_service("ingest", env, LOOPBACK, port, workdir)
            wait_healthy([ingest])
            with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=600,
                              headers={"Authorization": f"Bearer {TOKEN}"}) as client:
                client.post("/v1/schools", json=[{"school_id": "S1", "name": "Bench Primary"}]).raise_for_status()
                roll = pupils(args.pupils)
                for start in range(0, len(roll), 20_000):
                    client.post("/v1/pupils", json=roll[start:start + 20_000]).raise_for_status()
                content = results_file(args.pupils)
                first = one_import(client, content)
                again = one_import(client, content)
            return {"file_bytes": len(content), "first": first, "again": again}
        finally:
            if ingest is not None:
                ingest.stop()
            kafka.stop()
            postgres.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/imports.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=5_000, help="pupils; 60 rows each (default 5,000: 300,000 rows)")
    result = run(parser.parse_args(argv))
    for name in ("first", "again"):
        figures = result[name]
        print(f"{name:>5}: {figures['rows']} rows ({result['file_bytes'] / 1e6:.1f} MB) upload -> stored in "
              f"{figures['seconds']:.1f}s = {figures['rows_per_second']:,.0f} rows/s "
              f"(validate {figures['validate_seconds']:.1f}s, store {figures['store_seconds']:.1f}s)")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
