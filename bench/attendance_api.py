"""Benchmark the attendance API ends: register marks ingested per second over HTTP, and the
attendance report's p50 / p99 with filters at 100 schools.

Usage:

    make bench-attendance-api                               # 3 schools' year of registers; 100 schools' reports
    .venv/bin/python bench/attendance_api.py --schools 1 --requests 50     # a quicker look

Self-contained: it starts its own embedded PostgreSQL, broker (Tansu), valkey, an ingest process and
a gateway process on loopback, and stops only those. What it does:

1. Ingest over HTTP: the demo Trust's generator makes `--schools` schools and their pupils, and
   their registers for one academic year (`tidemark-demo registers`' model: every school day,
   illness peaking in winter, holidays in term, ...); they are posted to a real `tidemark-ingest`
   process (migrated PostgreSQL, outbox relay publishing to the broker) in batches of 20,000 rows
   (MAX_BATCH_ROWS), school by school, as a back-fill would be. Timed: the POSTs, from the first
   request to the last answer; marks per second. Then the same batches again (nothing changes:
   the re-send path).
2. Reports at 100 schools: the counters a year of registers gives (computed from the same marks
   with the projection's own rule, `attendance.enrolment_counts`, for the year to date, every
   period and every week) are written for 100 schools (the generated schools' counters repeated
   under 100 ids) into valkey under the attendance keyspace, and a real `tidemark-gateway` process
   answers `GET /v1/reports/attendance` with several groupings and filters, `--requests` times
   each; p50 and p99 per query. The hashes carry no write numbers unless `--versioned`, so every
   request reads and parses every hash again (the cost of a report after a write everywhere); with
   it, the counter cache keeps the parsed hashes, as in production while nothing is written (the
   attendance routes keep no whole answers: each request still tallies its cells).

Prints a plain-text summary, then the figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from tidemark_runtime.embedded import LOOPBACK, free_port, start_postgres, start_tansu, start_valkey
from tidemark_runtime.stack import MIGRATE, spawn_service, wait_healthy
from tidemark_schemas.aggregates import WRITES_FIELD, Keyspace, attendance_keyspace
from tidemark_schemas.attendance import YEAR_TO_DATE, counted_as, enrolment_counts
from tidemark_schemas.calendar import PeriodCalendar, week_of
from tidemark_schemas.characteristics import Characteristics
from tidemark_schemas.events import PupilUpserted
from tidemark_schemas.records import PupilRecord
from tidemark_tools.demo.generator import generate_trust
from tidemark_tools.demo.registers import register_batches, year_group_in

TRUST, PREFIX = "bench-trust", "bench"
INGEST_TOKEN, VIEWER_TOKEN = "bench-ingest", "bench-viewer"
TOKENS = {INGEST_TOKEN: {"trust_id": TRUST, "role": "ingest"},
          VIEWER_TOKEN: {"trust_id": TRUST, "role": "viewer", "schools": None}}
QUERIES: dict[str, dict[str, Any]] = {
    "ytd by school": {"by": "school"},
    "ytd by year group, girls": {"by": "year_group", "sex": "F"},
    "period by disadvantaged, SEN K/E": {"by": "disadvantaged", "period": "AUT2", "sen": ["K", "E"]},
    "week by ethnicity, with Reception": {"by": "ethnicity", "week": "WEEK", "include_reception": "true"},
    "ytd by sen, 10 schools": {"by": "sen", "school": [f"B{i:03d}" for i in range(10)]},
}


def marks_of(pupils: list[PupilRecord], academic_year: str, today: date, seed: int) -> list[list[dict[str, str]]]:
    return list(register_batches(pupils, [academic_year], today, seed))


def ingest_rate(workdir: Path, trust_pupils: list[PupilRecord], schools: list[dict[str, Any]],
                batches: list[list[dict[str, str]]]) -> dict[str, Any]:
    postgres = start_postgres(workdir / "pg", log_dir=workdir, durable=False)
    kafka = start_tansu(log_dir=workdir)
    ingest = None
    try:
        env = {"DATABASE_URL": postgres.url, "KAFKA_BOOTSTRAP_SERVERS": kafka.url,
               "TIDEMARK_TOKENS": json.dumps(TOKENS), "LOG_LEVEL": "WARNING"}
        subprocess.run(MIGRATE, env={**os.environ, **env}, check=True, capture_output=True)
        port = free_port()
        ingest = spawn_service("ingest", env, LOOPBACK, port, workdir)
        wait_healthy([ingest])
        with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=600,
                          headers={"Authorization": f"Bearer {INGEST_TOKEN}"}) as client:
            def post(path: str, body: Any) -> dict[str, Any]:
                answer = client.post(path, content=orjson.dumps(body), headers={"content-type": "application/json"})
                answer.raise_for_status()
                result: dict[str, Any] = answer.json()
                return result
            post("/v1/schools", schools)
            post("/v1/pupils", [p.model_dump(mode="json", exclude={"class_id"}) for p in trust_pupils])
            timings = []
            for repeat in ("first", "again"):
                started, changed = time.perf_counter(), 0
                for batch in batches:
                    changed += post("/v1/attendance", batch)["changed"]
                timings.append((repeat, time.perf_counter() - started, changed))
        marks = sum(len(b) for b in batches)
        return {"marks": marks, "batches": len(batches),
                **{f"{name}_seconds": seconds for name, seconds, _ in timings},
                **{f"{name}_marks_per_second": marks / seconds for name, seconds, _ in timings},
                **{f"{name}_changed": changed for name, _, changed in timings}}
    finally:
        if ingest is not None:
            ingest.stop()
        kafka.stop()
        postgres.stop()


def counters_of(pupils: list[PupilRecord], batches: Iterable[list[dict[str, str]]], academic_year: str,
                calendar: PeriodCalendar, today: date) -> dict[tuple[str, str], tuple[Counter[str], Counter[str]]]:
    """(school, window) -> (sessions hash, pupils hash), as the projection keeps them: each
    enrolment's sessions per window turned into counter fields by the one rule."""
    by_id = {p.pupil_id: p for p in pupils}
    characteristics = {p.pupil_id: Characteristics.of(PupilUpserted(trust_id=TRUST, version=1, **p.model_dump(exclude={"class_id"})))
                       for p in pupils}
    per_enrolment: dict[tuple[str, str, str, str], Counter[str]] = defaultdict(Counter)
    for batch in batches:
        for mark in batch:
            day = date.fromisoformat(mark["date"])
            year_group = year_group_in(by_id[mark["pupil_id"]], day, today)
            assert year_group is not None
            for window in (YEAR_TO_DATE, calendar.period_of(day).period, week_of(day)):
                per_enrolment[(mark["school_id"], window, mark["pupil_id"], year_group.value)][counted_as(mark["code"])] += 1
    found: dict[tuple[str, str], tuple[Counter[str], Counter[str]]] = defaultdict(lambda: (Counter(), Counter()))
    for (school, window, pupil_id, year_group), codes in per_enrolment.items():
        sessions, enrolments = found[(school, window)]
        for label, n in enrolment_counts(codes, characteristics[pupil_id].cell(year_group, academic_year)).items():
            (sessions if label.rsplit("|", 1)[1] in codes else enrolments)[label] += n
    return found


async def write_counters(redis: Redis, counters: dict[tuple[str, str], tuple[Counter[str], Counter[str]]],
                         schools: list[str], academic_year: str, versioned: bool = False) -> int:
    keys, directory = attendance_keyspace(PREFIX, TRUST), Keyspace(PREFIX, TRUST)
    originals = sorted({school for school, _window in counters})
    written = 0
    await redis.set(directory.epoch_key, "bench")  # the read model is whole: the gateway serves it (else 503)
    for index, school in enumerate(schools):
        # One pipeline per school: one of all 100 schools' hashes is tens of MB, which a loaded
        # machine did not write within the socket's timeout.
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(directory.schools, school,
                      json.dumps({"name": f"Bench school {index:03d}", "version": 1, "model": None}))
            source = originals[index % len(originals)]
            for (from_school, window), (sessions, enrolments) in counters.items():
                if from_school != source:
                    continue
                for key, fields in ((keys.attendance_sessions(academic_year, window, school), sessions),
                                    (keys.attendance_pupils(academic_year, window, school), enrolments)):
                    if fields:
                        pipe.hset(key, mapping=dict(fields))
                        if versioned:  # as the projection's write numbers each hash it writes (and counts the write)
                            pipe.hincrby(keys.versions, key, 1)
                            pipe.hincrby(keys.versions, WRITES_FIELD, 1)
                written += 2
            await pipe.execute()
    return written


def report_latency(workdir: Path, counters: dict[tuple[str, str], tuple[Counter[str], Counter[str]]],
                   academic_year: str, week: str, requests: int, schools: int, versioned: bool = False) -> dict[str, Any]:
    valkey = start_valkey(log_dir=workdir / "valkey")
    gateway = None
    try:
        async def seed() -> int:
            redis = Redis.from_url(valkey.url, decode_responses=True)
            try:
                return await write_counters(redis, counters, [f"B{i:03d}" for i in range(schools)], academic_year,
                                            versioned)
            finally:
                await redis.aclose()
        hashes = asyncio.run(seed())
        port = free_port()
        env = {"REDIS_URL": valkey.url, "REDIS_PREFIX": PREFIX, "LOG_LEVEL": "WARNING",
               "TIDEMARK_TOKENS": json.dumps(TOKENS)}
        gateway = spawn_service("gateway", env, LOOPBACK, port, workdir)
        wait_healthy([gateway])
        results: dict[str, Any] = {"schools": schools, "hashes": hashes, "versioned": versioned}
        with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=60,
                          headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}) as client:
            for name, query in QUERIES.items():
                params = {"academic_year": academic_year, **{k: (week if v == "WEEK" else v) for k, v in query.items()}}
                client.get("/v1/reports/attendance", params=params).raise_for_status()  # warm the cache
                latencies = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = client.get("/v1/reports/attendance", params=params)
                    latencies.append((time.perf_counter() - started) * 1000)
                    answer.raise_for_status()
                latencies.sort()
                results[name] = {"p50_ms": statistics.median(latencies),
                                 "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                                 "pupils": answer.json()["all_pupils"]["pupils"]}
        return results
    finally:
        if gateway is not None:
            gateway.stop()
        valkey.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    today = date.fromisoformat(args.today) if args.today else date.today()
    trust = generate_trust(seed=args.seed, schools=args.schools, today=today)
    academic_year = trust.academic_years[-2]  # the last complete year
    calendar = PeriodCalendar()
    batches = marks_of(trust.pupils, academic_year, today, args.seed)
    schools = [s.model_dump(mode="json") for s in trust.schools]
    with tempfile.TemporaryDirectory(prefix="tidemark-bench-att-") as workdir:
        ingest = ingest_rate(Path(workdir) / "ingest", trust.pupils, schools, batches)
        counters = counters_of(trust.pupils, batches, academic_year, calendar, today)
        week = sorted(w for (_s, w) in counters if w[:1].isdigit())[10]
        reports = report_latency(Path(workdir) / "reports", counters, academic_year, week, args.requests,
                                 args.report_schools, args.versioned)
    return {"academic_year": academic_year, "pupils": len(trust.pupils), "ingest": ingest, "reports": reports}


def print_summary(r: dict[str, Any]) -> None:
    i = r["ingest"]
    print(f"Ingest over HTTP: {i['marks']:,} marks of {r['academic_year']} for {r['pupils']:,} pupils in "
          f"{i['batches']} batches: {i['first_seconds']:.1f}s, {i['first_marks_per_second']:,.0f} marks/s "
          f"(re-sent: {i['again_marks_per_second']:,.0f} marks/s, {i['again_changed']} changed)")
    reports = r["reports"]
    how = ("numbered as the projection writes them: parsed hashes kept by the counter cache" if reports["versioned"]
           else "without write numbers: every hash read and parsed afresh")
    print(f"Attendance report at {reports['schools']} schools ({reports['hashes']:,} counter hashes, {how}):")
    for name in QUERIES:
        q = reports[name]
        print(f"  {name:40s} p50 {q['p50_ms']:6.1f} ms   p99 {q['p99_ms']:6.1f} ms   ({q['pupils']:,} pupils)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/attendance_api.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=3, help="schools whose year of registers is ingested (default 3)")
    parser.add_argument("--report-schools", type=int, default=100, help="schools the reports read (default 100)")
    parser.add_argument("--requests", type=int, default=200, help="requests per report query (default 200)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--today", default=None, help="YYYY-MM-DD (default today)")
    parser.add_argument("--versioned", action="store_true",
                        help="number each counter hash as the projection does (`Keyspace.versions`), so the gateway's "
                        "counter cache keeps the parsed hashes; default: none, every request reads and parses them")
    result = run(parser.parse_args(argv))
    print_summary(result)
    print(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
