"""Benchmark the attendance projection: a whole Trust's year of register marks applied by one
process through the real engine on an embedded valkey, and the memory the attendance state takes.

Usage:

    make bench-attendance                                  # 12 schools, ~4,000 pupils, 190 days
    .venv/bin/python bench/attendance.py --schools 3       # a quicker look

Self-contained: it starts its own embedded valkey on loopback and stops only that. What it does:

1. Generates a Trust (seeded): schools of 210 to 420 pupils, Reception to Year 6, with realistic
   characteristics, and every pupil's register for the 190 pupil days of one academic year of the
   English default calendar (the five INSET days left out): present most sessions, illness,
   appointments, lateness, holidays in term, unexplained absence (a few pupils absent often, so
   persistent absence is near the national rate), X for some Reception sessions, one school closed
   for a day (#), and about 1% of marks corrected the next day (N then I or O: a second version).
2. Delivers them the way registers arrive: day by day, each school's morning then afternoon
   register, as the JSON bodies ingest's relay publishes, in consumer batches of `--batch`
   records; each batch is parsed (`parse_batch`, as the consumer does) and applied by the
   projection engine (`AttendanceEngine.apply`, the attendance rules) against the real valkey.
   Only parse + apply is timed; a batch's bodies are built just before it, outside the timer.
3. Measures the memory: MEMORY USAGE of every pupil hash and every counter hash, and valkey's
   used_memory before and after, per pupil-year.
4. Reconciles every counter against the pupil states (the run is also a correctness check).

Prints a plain-text summary, then the figures as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from tidemark_metrics.adapters.attendance_engine import AttendanceEngine
from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_runtime.embedded import start_valkey
from tidemark_runtime.kafka import parse_batch
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.projections.operations import reconcile
from tidemark_runtime.projections.service import settle_collector
from tidemark_schemas.aggregates import attendance_keyspace
from tidemark_schemas.calendar import HALF_TERMS, PeriodCalendar, PeriodRef
from tidemark_schemas.vocabulary import YearGroup

TRUST = "bench-trust"
PREFIX = "bench"
TARGET_MARKS_PER_S = 12_500  # 1.5 million marks in two minutes
ETHNICITIES = ["WBRI"] * 14 + ["WOTH", "WIRT", "APKN", "AIND", "ABAN", "BAFR", "BCRB", "MWBC", "MWBA", "CHNE",
                               "AOTH", "OOTH", "REFU"]


@dataclass(frozen=True)
class Record:
    """What a Kafka record is to the consumer: its body (`parse_batch` reads `.value`)."""

    value: bytes


@dataclass
class Pupil:
    pupil_id: str
    school_id: str
    year_group: str
    absence_rate: float
    """How often the pupil misses a session (skewed: most rarely, a few often)."""


@dataclass
class Trust:
    pupils: list[Pupil]
    pupil_events: list[Record]
    days: list[date]
    closure: tuple[str, date]


def build_trust(schools: int, seed: int, academic_year: str) -> Trust:
    rng = random.Random(seed)
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    pupils, events = [], []
    for s in range(1, schools + 1):
        school_id = f"S{s:02d}"
        per_year = rng.choice((30, 45, 60, 60))  # one-form to two-form entry: about 340 pupils a school
        for year_group in YearGroup:
            for _ in range(per_year):
                pupil_id = f"P{len(pupils) + 1:06d}"
                fsm6 = rng.random() < 0.25
                sen = rng.choices("NKE", (84, 13, 3))[0]
                rate = min(0.6, rng.lognormvariate(-3.2, 0.75) * (1.8 if fsm6 else 1.0) * (2.0 if sen == "E" else 1.0))
                pupils.append(Pupil(pupil_id, school_id, year_group.value, rate))
                events.append(Record(orjson.dumps({
                    "event_id": str(uuid.uuid4()), "schema_version": 1, "occurred_at": at, "trust_id": TRUST,
                    "event_type": "pupil-upserted", "pupil_id": pupil_id, "school_id": school_id,
                    "year_group": year_group.value, "sex": rng.choice("FM"), "fsm6": fsm6, "lac": rng.random() < 0.01,
                    "plac": rng.random() < 0.02, "sen": sen, "eal": rng.random() < 0.2,
                    "ethnicity": rng.choice(ETHNICITIES), "left_on": None, "version": 1,
                })))
    calendar = PeriodCalendar()
    days = []
    for period in HALF_TERMS:
        school_days = calendar.school_days(PeriodRef(academic_year, period))
        days += school_days[1:] if period != "SUM2" else school_days  # five INSET days: 190 pupil days
    return Trust(pupils, events, days, (f"S{min(3, schools):02d}", days[len(days) // 2]))


class Marks:
    """The year's register marks as ingest's relay would publish them, built lazily in delivery
    order: day by day, each school's morning register then its afternoon register."""

    def __init__(self, trust: Trust, seed: int) -> None:
        self.trust = trust
        self.rng = random.Random(seed + 1)
        self.at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        self.ids = iter(range(1, 1 << 62))
        self.by_school: dict[str, list[Pupil]] = {}
        for pupil in trust.pupils:
            self.by_school.setdefault(pupil.school_id, []).append(pupil)
        self.holiday: dict[str, int] = {}
        """pupil -> sessions of a holiday in term still to come"""
        self.count = 0
        self.corrections = 0

    def body(self, pupil: Pupil, day: date, session: str, code: str, version: int) -> Record:
        self.count += 1
        return Record(orjson.dumps({
            "event_id": str(uuid.UUID(int=next(self.ids))), "schema_version": 1, "occurred_at": self.at,
            "trust_id": TRUST, "event_type": "attendance-marked", "pupil_id": pupil.pupil_id,
            "school_id": pupil.school_id, "date": day.isoformat(), "session": session, "code": code,
            "year_group": pupil.year_group, "version": version,
        }))

    def code(self, pupil: Pupil, day: date, session: str) -> str:
        rng = self.rng
        if self.holiday.get(pupil.pupil_id):
            self.holiday[pupil.pupil_id] -= 1
            return "G"
        if pupil.year_group == "R" and day.month == 9 and rng.random() < 0.3:
            return "X"  # settling in: not required to attend
        if rng.random() < pupil.absence_rate:
            if rng.random() < 0.03:
                self.holiday[pupil.pupil_id] = rng.randint(4, 9)
                return "G"
            return rng.choices(("I", "I", "I", "M", "O", "N", "U", "C"), (40, 20, 10, 8, 8, 6, 4, 4))[0]
        if session == "AM" and rng.random() < 0.01:
            return "L"
        return "/" if session == "AM" else "\\"

    def __iter__(self) -> Iterator[Record]:
        pending: list[tuple[Pupil, date, str, str]] = []
        closed_school, closed_day = self.trust.closure
        for day in self.trust.days:
            corrections, pending = pending, []
            for pupil, when, session, code in corrections:  # yesterday's N now has its reason
                self.corrections += 1
                yield self.body(pupil, when, session, code, 2)
            for school_id, pupils in self.by_school.items():
                for session in ("AM", "PM"):
                    for pupil in pupils:
                        code = "#" if (school_id, day) == (closed_school, closed_day) else self.code(pupil, day, session)
                        if code == "N":
                            pending.append((pupil, day, session, self.rng.choice("IIO")))
                        yield self.body(pupil, day, session, code, 1)


@dataclass
class Applied:
    marks: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    """This process's CPU time in parse + apply (the machine may be shared: wall time is not all ours)."""
    valkey_cpu_seconds: float = 0.0
    batches: int = 0
    slowest: float = 0.0
    progress: list[tuple[int, float]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.marks / self.seconds if self.seconds else 0.0


async def apply_year(redis: Redis, trust: Trust, batch: int, seed: int) -> tuple[Applied, Marks, ProjectionEngine]:
    engine = AttendanceEngine(redis, PREFIX, AttendanceProjection())  # the metrics process's engine
    await engine.apply(parse_batch(trust.pupil_events)[0])
    marks = Marks(trust, seed)
    applied = Applied()
    records = iter(marks)
    valkey_cpu = await _valkey_cpu(redis)
    while chunk := list(islice(records, batch)):
        began, cpu = time.perf_counter(), time.process_time()
        events, rejected = parse_batch(chunk)
        if rejected:
            raise RuntimeError(f"the benchmark built an invalid event: {rejected[0][1]}")
        await engine.apply(events)
        elapsed = time.perf_counter() - began
        applied.cpu_seconds += time.process_time() - cpu
        applied.seconds += elapsed
        applied.marks += len(chunk)
        applied.batches += 1
        applied.slowest = max(applied.slowest, elapsed)
        if applied.batches % 100 == 0:
            applied.progress.append((applied.marks, applied.rate))
            print(f"  {applied.marks:,} marks applied, {applied.rate:,.0f}/s", flush=True)
    applied.valkey_cpu_seconds = await _valkey_cpu(redis) - valkey_cpu
    return applied, marks, engine


async def _valkey_cpu(redis: Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def memory_usage(redis: Redis, pattern: str) -> tuple[int, int]:
    """(keys, bytes) of every key matching `pattern` (MEMORY USAGE, all samples)."""
    keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
    total = 0
    for start in range(0, len(keys), 1000):
        async with redis.pipeline(transaction=False) as pipe:
            for key in keys[start:start + 1000]:
                pipe.memory_usage(key, samples=0)
            total += sum(value or 0 for value in await pipe.execute())
    return len(keys), total


async def field_count(redis: Redis, pattern: str) -> int:
    keys = [key async for key in redis.scan_iter(match=pattern, count=1000)]
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hlen(key)
        return sum(await pipe.execute())


def run(args: argparse.Namespace) -> dict[str, Any]:
    academic_year = args.academic_year
    trust = build_trust(args.schools, args.seed, academic_year)
    print(f"Generated {args.schools} schools, {len(trust.pupils):,} pupils, {len(trust.days)} pupil days of "
          f"{academic_year}: about {len(trust.pupils) * len(trust.days) * 2:,} marks", flush=True)
    settle_collector()  # as the consumer process does at start-up
    workdir = Path(tempfile.mkdtemp(prefix="tidemark-bench-attendance-"))
    valkey = start_valkey(log_dir=workdir / "valkey")
    try:
        async def measure() -> dict[str, Any]:
            redis = Redis.from_url(valkey.url)
            try:
                before = (await redis.info("memory"))["used_memory"]
                applied, marks, engine = await apply_year(redis, trust, args.batch, args.seed)
                after = (await redis.info("memory"))["used_memory"]
                keys = attendance_keyspace(PREFIX, TRUST)
                pupil_keys, pupil_bytes = await memory_usage(redis, f"{keys.base}:pupil:*")
                counter_keys, counter_bytes = 0, 0
                for kind in ("att-sessions", "att-pupils"):
                    n, size = await memory_usage(redis, f"{keys.base}:{kind}:*")
                    counter_keys, counter_bytes = counter_keys + n, counter_bytes + size
                fields = await field_count(redis, f"{keys.base}:att-*")
                sample = await redis.hgetall(keys.pupil(trust.pupils[0].pupil_id))
                began = time.perf_counter()
                check = await reconcile(engine, keys)
                reconcile_seconds = time.perf_counter() - began
            finally:
                await redis.aclose()
            pupils = len(trust.pupils)
            return {
                "schools": args.schools, "pupils": pupils, "days": len(trust.days), "academic_year": academic_year,
                "marks": applied.marks, "corrections": marks.corrections, "batch": args.batch,
                "batches": applied.batches, "seconds": applied.seconds, "marks_per_s": applied.rate,
                "slowest_batch_ms": applied.slowest * 1000,
                "cpu": {"process_seconds": applied.cpu_seconds, "valkey_seconds": applied.valkey_cpu_seconds,
                        "marks_per_cpu_second": applied.marks / (applied.cpu_seconds + applied.valkey_cpu_seconds)},
                "memory": {
                    "used_memory_mb": (after - before) / 2**20,
                    "pupil_hashes": pupil_keys, "pupil_state_bytes_per_pupil_year": pupil_bytes / pupils,
                    "counter_hashes": counter_keys, "counter_fields": fields,
                    "counter_bytes_per_pupil_year": counter_bytes / pupils,
                    "used_memory_bytes_per_pupil_year": (after - before) / pupils,
                    "sample_pupil_fields": len(sample),
                    "sample_pupil_payload_bytes": sum(len(k) + len(v) for k, v in sample.items()),
                },
                "reconcile": {"consistent": check.consistent, "counters": check.counters,
                              "seconds": reconcile_seconds},
                "target_marks_per_s": TARGET_MARKS_PER_S,
            }

        return asyncio.run(measure())
    finally:
        valkey.stop()


def print_summary(r: dict[str, Any]) -> None:
    m, cpu = r["memory"], r["cpu"]
    verdict = "met" if r["marks_per_s"] >= TARGET_MARKS_PER_S else "NOT met"
    print()
    print(f"Trust: {r['schools']} schools, {r['pupils']:,} pupils, {r['days']} days of {r['academic_year']}")
    print(f"Applied {r['marks']:,} marks ({r['corrections']:,} corrections) in {r['batches']:,} batches of "
          f"{r['batch']:,}: {r['seconds']:.1f} s = {r['marks_per_s']:,.0f} marks/s "
          f"(target >= {TARGET_MARKS_PER_S:,}: {verdict}); slowest batch {r['slowest_batch_ms']:.0f} ms")
    print(f"CPU: this process {cpu['process_seconds']:.1f} s, valkey {cpu['valkey_seconds']:.1f} s: "
          f"{cpu['marks_per_cpu_second']:,.0f} marks per CPU-second of the two (what an idle machine would approach)")
    print(f"Memory per pupil-year: pupil state {m['pupil_state_bytes_per_pupil_year']:,.0f} B "
          f"({m['sample_pupil_fields']} fields, {m['sample_pupil_payload_bytes']:,} B of payload in a sample), "
          f"counters {m['counter_bytes_per_pupil_year']:,.0f} B ({m['counter_hashes']:,} hashes, "
          f"{m['counter_fields']:,} fields for the Trust), valkey used_memory "
          f"{m['used_memory_bytes_per_pupil_year']:,.0f} B ({m['used_memory_mb']:,.0f} MB in all)")
    c = r["reconcile"]
    print(f"Reconcile: {c['counters']:,} counters, {'consistent' if c['consistent'] else 'INCONSISTENT'} "
          f"({c['seconds']:.1f} s)")


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/attendance.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=12, help="schools in the Trust (default 12: about 4,000 pupils)")
    parser.add_argument("--batch", type=int, default=2000, help="records per consumed batch (default 2000, "
                        "the consumer's BATCH_MAX_RECORDS)")
    parser.add_argument("--academic-year", default="2025/26", help="the year of registers (default 2025/26)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated Trust (default 2026)")
    args = parser.parse_args(argv)
    if min(args.schools, args.batch) < 1:
        parser.error("need at least 1 school and a batch of 1")
    return args


def main(argv: list[str] | None = None) -> int:
    result = run(parse_args(argv))
    print_summary(result)
    print(json.dumps(rounded(result)))
    return 0 if result["reconcile"]["consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
