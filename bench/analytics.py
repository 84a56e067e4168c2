"""Benchmark the analytics core at Trust scale: events applied per second by one metrics process,
and gateway report requests side by side with DuckDB computing the same reports from raw rows.

Usage:

    make bench-analytics                        # 100 schools x 420 pupils x 18 periods
    .venv/bin/python bench/analytics.py --schools 10 --requests 50     # a quicker look

Self-contained: it starts its own embedded valkey and a gateway process on loopback, and stops
only those. What it does:

1. Generates the demo Trust (`tidemark-demo`'s generator: realistic characteristics, attainment
   and the schools' own model codes) at the asked size, over the current academic year and the
   two before (18 half-terms), with every period locked.
2. Applies, through the metrics service's own code in this one process (`parse_batch`, the same
   pydantic parse the consumer runs on each Kafka record, then the projection engine's `apply` against the
   real valkey, in batches of `--batch` records): the schools and pupils, then, period by period,
   every entered result (drafts) followed by the lock of every result (the lock burst).
   Then the same through the real path: the locks of the last `--broker-periods` periods on the
   embedded Kafka-protocol broker (Tansu), consumed by one real `tidemark-metrics` process.
   `bench/benchmark.py` measures the whole pipeline (ingest, relay, broker, gateway) on a stack.
3. Loads the same raw rows (pupils and locked results) into DuckDB, then for a set of reports with
   filters times the gateway over HTTP (`--requests` each, p50 / p99) against DuckDB answering the
   same question from the raw rows, and checks that both give the same figures.

Prints a plain-text table, then the figures as one JSON line. DuckDB is an optional extra of the
benchmark only (`requirements/bench.txt`); nothing else in Tidemark uses it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from tidemark_tools.demo.generator import DemoTrust, generate_trust
from tidemark_metrics.domain.projection import METRICS
from tidemark_runtime.embedded import LOOPBACK, free_port, start_tansu, start_valkey
from tidemark_runtime.kafka import ensure_topics, parse_batch
from tidemark_runtime.projections.engine import ProjectionEngine
from tidemark_runtime.stack import spawn_service, wait_healthy
from tidemark_schemas import topics
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef, academic_year_of, parse_academic_year
from tidemark_schemas.ethnicity import CENSUS_ETHNICITY
from tidemark_schemas.records import AssessmentRecord

TRUST = "bench-trust"
TOKEN = "bench-viewer"
PREFIX = "bench"
TARGET_LOCKED_PER_S = 20_000
TARGET_P99_MS = 50.0


@dataclass(frozen=True)
class Record:
    """What a Kafka record is to the consumer: its body (parse_batch reads `.value`)."""

    value: bytes


# ------------------------------------------------------------------------- 1. the Trust


Periods = dict[PeriodRef, list[AssessmentRecord]]
"""The Trust's results by period, oldest first."""


def build_trust(schools: int, pupils_per_school: int, seed: int) -> tuple[DemoTrust, Periods]:
    """The demo Trust seen on the last day of the summer term, so that all 18 periods have started,
    with its results grouped by period (oldest first)."""
    start = parse_academic_year(academic_year_of(date.today()))
    trust = generate_trust(seed=seed, schools=schools, pupils_per_school=pupils_per_school,
                           today=date(start + 1, 7, 31))
    by_period: dict[PeriodRef, list[AssessmentRecord]] = defaultdict(list)
    for r in trust.assessments:
        by_period[PeriodRef(r.academic_year, r.period)].append(r)
    years = sorted({ref.academic_year for ref in by_period})
    refs = [PeriodRef(year, period) for year in years for period in PeriodCalendar().periods]
    return trust, {ref: by_period[ref] for ref in refs}


class Events:
    """Event bodies as ingest's relay publishes them, serialised straight to JSON (orjson) so that
    building millions of them does not dominate the run; the consumer still validates every one."""

    def __init__(self) -> None:
        self._ids = iter(range(1, 1 << 62))
        self._at = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def _envelope(self, event_type: str) -> dict[str, Any]:
        return {"event_id": str(uuid.UUID(int=next(self._ids))), "schema_version": 1, "occurred_at": self._at,
                "trust_id": TRUST, "event_type": event_type}

    def school(self, school_id: str, name: str, model: dict[str, Any] | None) -> Record:
        body = {**self._envelope("school-upserted"), "school_id": school_id, "name": name,
                "assessment_model": model, "version": 1}
        return Record(orjson.dumps(body))

    def pupil(self, pupil: dict[str, Any]) -> Record:
        return Record(orjson.dumps({**self._envelope("pupil-upserted"), **pupil, "version": 1}))

    def result(self, r: AssessmentRecord, locked: bool) -> Record:
        band, code = r.band.value if r.band else None, r.code
        body = {
            **self._envelope("assessment-locked" if locked else "assessment-entered"),
            "pupil_id": r.pupil_id, "school_id": r.school_id, "academic_year": r.academic_year, "period": r.period,
            "year_group": r.year_group.value, "subject": r.subject, "entered_band": band,
            "locked_band": band if locked else None, "entered_code": code, "locked_code": code if locked else None,
            "version": 2 if locked else 1,
        }
        return Record(orjson.dumps(body))


# ------------------------------------------------------------------------- 2. applying


@dataclass
class Phase:
    events: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def apply_all(redis: Redis, trust: DemoTrust, periods: Periods, batch: int) -> dict[str, Phase]:
    store = ProjectionEngine(redis, PREFIX, METRICS)
    make = Events()
    phases = {"roll": Phase(), "entered": Phase(), "locked": Phase()}

    async def run(records: Iterable[Record], phase: Phase) -> None:
        """Time parse + apply per batch; a batch's bodies are built just before it, outside the
        timer, so the process holds one batch at a time as a consumer does."""
        records = iter(records)
        while chunk := list(islice(records, batch)):
            began = time.perf_counter()
            events, rejected = parse_batch(chunk)
            if rejected:
                raise RuntimeError(f"the benchmark built an invalid event: {rejected[0][1]}")
            await store.apply(events)
            phase.seconds += time.perf_counter() - began
            phase.events += len(chunk)

    roll = [make.school(s.school_id, s.name, s.assessment_model.model_dump(mode="json") if s.assessment_model else None)
            for s in trust.schools]
    await run(roll + [make.pupil(p.model_dump(mode="json", exclude={"class_id"})) for p in trust.pupils], phases["roll"])
    for ref, rows in periods.items():
        await run((make.result(r, locked=False) for r in rows), phases["entered"])
        await run((make.result(r, locked=True) for r in rows), phases["locked"])
        print(f"  applied {ref.academic_year} {ref.period}: {len(rows):,} results "
              f"(locks so far {phases['locked'].rate:,.0f}/s)", flush=True)
    return phases


# ------------------------------------------------------------------------- 2b. through the broker


@dataclass
class BrokerPhase:
    locks: int
    seconds: float
    join_seconds: float

    @property
    def rate(self) -> float:
        return self.locks / self.seconds if self.seconds else 0.0


async def apply_through_broker(
    kafka: str, redis_url: str, trust: DemoTrust, periods: Periods, last: int, workdir: Path
) -> BrokerPhase:
    """One real `tidemark-metrics` process consuming the broker: the schools and pupils first (then
    it stops, committing), then the locks of the `last` periods, produced while it is stopped and
    timed from the first lock it shows to the last, so the producer never shares the CPU with it."""
    prefix = f"{PREFIX}-broker"
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka, "KAFKA_IDEMPOTENT_PRODUCER": "false", "REDIS_URL": redis_url,
           "REDIS_PREFIX": prefix, "LOG_LEVEL": "WARNING"}
    redis = Redis.from_url(redis_url)
    keys = Keyspace(prefix, TRUST)
    make = Events()
    await ensure_topics(kafka, 6)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=20, max_batch_size=1 << 20, acks="all")
    await producer.start()
    try:
        for school in trust.schools:
            await producer.send(topics.SCHOOLS, make.school(school.school_id, school.name, None).value,
                                key=school.school_id.encode())
        for pupil in trust.pupils:
            await producer.send(topics.PUPILS, make.pupil(pupil.model_dump(mode="json", exclude={"class_id"})).value,
                                key=pupil.pupil_id.encode())
        await producer.flush()
        on_roll = sum(1 for pupil in trust.pupils if pupil.left_on is None)
        metrics = spawn_service("metrics", env, LOOPBACK, free_port(), workdir)
        await _until(lambda: _sum_counts(redis, [keys.roll(s.school_id) for s in trust.schools]), on_roll)
        metrics.stop()
        refs = list(periods)[-last:]
        locked = [r for ref in refs for r in periods[ref]]
        for r in locked:
            await producer.send(topics.ASSESSMENTS, make.result(r, locked=True).value, key=r.pupil_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    reading = [keys.counters(ref.academic_year, ref.period, "reading", s.school_id) for ref in refs for s in trust.schools]
    expected = sum(1 for r in locked if r.subject == "reading")
    started = time.perf_counter()
    metrics = spawn_service("metrics", env, LOOPBACK, free_port(), workdir)
    try:
        first = await _until(lambda: _sum_counts(redis, reading), 1)
        done = await _until(lambda: _sum_counts(redis, reading), expected)
    finally:
        metrics.stop()
        await redis.aclose()
    return BrokerPhase(len(locked), done - first, first - started)


async def _sum_counts(redis: Redis, keys: Sequence[str]) -> int:
    async with redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hvals(key)
        replies = await pipe.execute()
    return sum(int(value) for values in replies for value in values)


async def _until(count: Callable[[], Awaitable[int]], at_least: int, timeout: float = 900.0) -> float:
    """Poll every 50 ms; the perf_counter() at which `count()` first reached `at_least`."""
    deadline = time.perf_counter() + timeout
    while await count() < at_least:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the metrics process did not reach {at_least} within {timeout:.0f} s")
        await asyncio.sleep(0.05)
    return time.perf_counter()


# ------------------------------------------------------------------------- 3. reports


@dataclass(frozen=True)
class Query:
    name: str
    params: dict[str, Any]
    """Gateway query parameters (measure, by, filters)."""


def queries(trust: DemoTrust, ref: PeriodRef) -> list[Query]:
    two = [s.school_id for s in trust.schools[:2]]
    base = {"academic_year": ref.academic_year, "period": ref.period}
    return [
        Query("reading by school, disadvantaged only (every school)",
              {**base, "measure": "reading", "by": "school", "disadvantaged": "true"}),
        Query("rwm by year group, girls with SEN support in two schools",
              {**base, "measure": "rwm", "by": "year_group", "sex": "F", "sen": "K", "school": two}),
        Query("maths by ethnicity, EAL pupils in Years 5-6",
              {**base, "measure": "maths", "by": "ethnicity", "eal": "true", "year_group": ["Y5", "Y6"]}),
        Query("rwm by disadvantaged, boys (every school)",
              {**base, "measure": "rwm", "by": "disadvantaged", "sex": "M"}),
    ]


class DuckReports:
    """The same reports computed by DuckDB from the raw rows: pupils and their locked results."""

    GROUP_COLUMN = {"school": "r.school_id", "year_group": "r.year_group", "ethnicity": "p.ethnic_group",
                    "disadvantaged": "CASE WHEN p.disadvantaged THEN 'disadvantaged' ELSE 'not_disadvantaged' END",
                    "sex": "p.sex"}

    def __init__(self, trust: DemoTrust, workdir: Path) -> None:
        import duckdb  # the benchmark's optional extra

        self.db = duckdb.connect()
        pupils_csv, results_csv = workdir / "pupils.csv", workdir / "results.csv"
        with pupils_csv.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["pupil_id", "sex", "disadvantaged", "sen", "eal", "ethnic_group", "lac", "left_on"])
            for p in trust.pupils:
                out.writerow([p.pupil_id, p.sex.value, p.disadvantaged, p.sen.value, p.eal,
                              CENSUS_ETHNICITY[p.ethnicity].name, p.lac, p.left_on.isoformat() if p.left_on else ""])
        with results_csv.open("w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["pupil_id", "school_id", "academic_year", "period", "year_group", "subject", "band"])
            for r in trust.assessments:
                out.writerow([r.pupil_id, r.school_id, r.academic_year, r.period, r.year_group.value, r.subject,
                              r.band.value if r.band else ""])
        self.db.execute(f"CREATE TABLE pupils AS SELECT * FROM read_csv('{pupils_csv}', header=true, "
                        "columns={'pupil_id': 'VARCHAR', 'sex': 'VARCHAR', 'disadvantaged': 'BOOLEAN', 'sen': 'VARCHAR', "
                        "'eal': 'BOOLEAN', 'ethnic_group': 'VARCHAR', 'lac': 'BOOLEAN', 'left_on': 'DATE'})")
        self.db.execute(f"CREATE TABLE results AS SELECT * FROM read_csv('{results_csv}', header=true, all_varchar=true)")
        self.rows = self.db.execute("SELECT count(*) FROM results").fetchone()[0]

    def figures(self, query: Query) -> dict[str, tuple[int, int]]:
        """{group: (pupils with a result, at or above)} and "all" pooled, like the gateway's rows."""
        p = query.params
        period_start = PeriodCalendar.start_date(PeriodRef(p["academic_year"], p["period"]))
        where = ["(p.left_on IS NULL OR p.left_on >= ?)"]
        args: list[Any] = [period_start]
        for name, column in (("sex", "p.sex"),):
            if name in p:
                where.append(f"{column} = ?")
                args.append(p[name])
        for name in ("disadvantaged", "eal", "lac"):
            if name in p:
                where.append(f"p.{name} = ?")
                args.append(p[name] == "true")
        for name, column in (("sen", "p.sen"), ("school", "r.school_id"), ("year_group", "r.year_group")):
            if name in p:
                values = p[name] if isinstance(p[name], list) else [p[name]]
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                args.extend(values)
        if p["measure"] == "rwm":
            source = """(
                SELECT pupil_id,
                       any_value(school_id) FILTER (WHERE subject = 'reading') AS school_id,
                       any_value(year_group) FILTER (WHERE subject = 'reading') AS year_group,
                       CASE WHEN bool_or(band = 'BELOW') THEN 'BELOW'
                            WHEN bool_and(band = 'ABOVE') THEN 'ABOVE' ELSE 'AT' END AS band
                FROM results
                WHERE academic_year = ? AND period = ? AND subject IN ('reading', 'writing', 'maths')
                GROUP BY pupil_id HAVING count(*) = 3)"""
            source_args = [p["academic_year"], p["period"]]
        else:
            source = "(SELECT * FROM results WHERE academic_year = ? AND period = ? AND subject = ?)"
            source_args = [p["academic_year"], p["period"], p["measure"]]
        group = self.GROUP_COLUMN[p["by"]]
        sql = f"""
            SELECT {group} AS grp, count(*) AS n, count(*) FILTER (WHERE r.band IN ('AT', 'ABOVE')) AS hits
            FROM {source} r JOIN pupils p USING (pupil_id)
            WHERE {' AND '.join(where)}
            GROUP BY ROLLUP ({group})"""
        rows = self.db.execute(sql, source_args + args).fetchall()
        return {("all" if grp is None else str(grp)): (n, hits) for grp, n, hits in rows}


def gateway_figures(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    found = {row["group"]: (row["n"], row["at_or_above"]) for row in body["rows"] if row["n"]}
    return {**found, "all": (body["all_pupils"]["n"], body["all_pupils"]["at_or_above"])}


def timed(call: Callable[[], Any], times: int) -> tuple[list[float], Any]:
    latencies, answer = [], None
    for _ in range(times):
        began = time.perf_counter()
        answer = call()
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies, answer


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": max(latencies)}


# ------------------------------------------------------------------------- the run


@dataclass
class Services:
    valkey: Any
    gateway: Any
    kafka: Any = None

    def stop(self) -> None:
        for process in (self.gateway, self.valkey, self.kafka):
            if process is not None:
                process.stop()


def start_services(workdir: Path, with_broker: bool) -> Services:
    valkey = start_valkey(log_dir=workdir / "valkey")
    gateway = kafka = None
    try:
        kafka = start_tansu(log_dir=workdir / "tansu") if with_broker else None
        port = free_port()
        env = {"REDIS_URL": valkey.url, "REDIS_PREFIX": PREFIX, "LOG_LEVEL": "WARNING",
               "TIDEMARK_TOKENS": json.dumps({TOKEN: {"trust_id": TRUST, "role": "viewer", "schools": None}})}
        gateway = spawn_service("gateway", env, LOOPBACK, port, workdir)
        wait_healthy([gateway])
        gateway.url = f"http://{LOOPBACK}:{port}"  # type: ignore[attr-defined]  # the benchmark's note on the process
    except BaseException:
        Services(valkey, gateway, kafka).stop()
        raise
    return Services(valkey, gateway, kafka)


def run(args: argparse.Namespace) -> dict[str, Any]:
    began = time.perf_counter()
    trust, periods = build_trust(args.schools, args.pupils_per_school, args.seed)
    results = len(trust.assessments)
    print(f"Generated {len(trust.schools)} schools, {len(trust.pupils):,} pupils (over three years), "
          f"{results:,} results in {len(periods)} periods in {time.perf_counter() - began:.0f} s", flush=True)
    gc.collect()
    gc.freeze()  # the generated Trust is long-lived: keep the collector from rescanning it (a metrics
    # process holds no Trust; without this, every full collection would traverse millions of rows)
    workdir = Path(tempfile.mkdtemp(prefix="tidemark-bench-"))
    services = start_services(workdir, with_broker=args.broker_periods > 0)
    try:
        redis = Redis.from_url(services.valkey.url)

        async def apply() -> tuple[dict[str, Phase], int]:
            phases = await apply_all(redis, trust, periods, args.batch)
            memory = (await redis.info("memory"))["used_memory"]
            await redis.aclose()
            return phases, memory

        phases, memory = asyncio.run(apply())
        broker = None
        if args.broker_periods:
            print(f"Through the broker: the locks of the last {args.broker_periods} periods ...", flush=True)
            broker = asyncio.run(apply_through_broker(
                services.kafka.url, services.valkey.url, trust, periods, args.broker_periods, workdir))
        print("Loading DuckDB ...", flush=True)
        duck = DuckReports(trust, workdir)
        report_figures = []
        with httpx.Client(base_url=services.gateway.url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=30.0, trust_env=False) as client:

            def ask(query: Query) -> dict[str, Any]:
                response = client.get("/v1/reports/attainment", params=query.params)
                response.raise_for_status()
                return response.json()

            for query in queries(trust, list(periods)[-1]):
                timed(lambda: ask(query), 5)  # warm-up: connections, caches
                timed(lambda: duck.figures(query), 5)
                gateway_ms, body = timed(lambda: ask(query), args.requests)
                duck_ms, expected = timed(lambda: duck.figures(query), args.requests)
                agree = gateway_figures(body) == expected
                report_figures.append({"query": query.name, "params": query.params, "pupils": expected.get("all"),
                                       "gateway_ms": percentiles(gateway_ms), "duckdb_ms": percentiles(duck_ms),
                                       "same_figures": agree})
        duck.db.close()
    finally:
        services.stop()
    locked = phases["locked"]
    return {
        "schools": len(trust.schools), "pupils": len(trust.pupils), "periods": len(periods), "results": results,
        "batch": args.batch,
        "apply": {name: {"events": p.events, "seconds": p.seconds, "per_s": p.rate} for name, p in phases.items()},
        "events_per_s": sum(p.events for p in phases.values()) / sum(p.seconds for p in phases.values()),
        "locked_results_per_s": locked.rate,
        "broker": None if broker is None else {
            "locks": broker.locks, "seconds": broker.seconds, "per_s": broker.rate,
            "group_join_seconds": broker.join_seconds},
        "valkey_used_memory_mb": memory / 2**20,
        "duckdb_rows": duck.rows,
        "reports": report_figures,
        "targets": {"locked_results_per_s": TARGET_LOCKED_PER_S, "report_p99_ms": TARGET_P99_MS},
    }


def print_table(r: dict[str, Any]) -> None:
    print()
    print(f"Trust: {r['schools']} schools, {r['pupils']:,} pupils, {r['periods']} periods, {r['results']:,} results")
    print(f"Valkey memory after applying: {r['valkey_used_memory_mb']:,.0f} MB")
    print()
    print(f"{'apply (one process, batches of ' + str(r['batch']) + ')':<44} {'events':>11} {'seconds':>9} {'per second':>12}")
    for name, label in (("roll", "schools and pupils"), ("entered", "entered results (drafts)"),
                        ("locked", "locks (locked results)")):
        p = r["apply"][name]
        print(f"  {label:<42} {p['events']:>11,} {p['seconds']:>9.1f} {p['per_s']:>12,.0f}")
    verdict = "met" if r["locked_results_per_s"] >= TARGET_LOCKED_PER_S else "NOT met"
    print(f"  {'all events':<42} {'':>11} {'':>9} {r['events_per_s']:>12,.0f}")
    print(f"  locked results per second: {r['locked_results_per_s']:,.0f} (target >= {TARGET_LOCKED_PER_S:,}: {verdict})")
    if r["broker"]:
        b = r["broker"]
        verdict = "met" if b["per_s"] >= TARGET_LOCKED_PER_S else "NOT met"
        print(f"  through the broker, one tidemark-metrics process: {b['locks']:,} locks in {b['seconds']:.1f} s = "
              f"{b['per_s']:,.0f}/s (target: {verdict}; joining the group took {b['group_join_seconds']:.1f} s)")
    print()
    print(f"{'report (attainment, latest period)':<58} {'gateway p50/p99 ms':>20} {'DuckDB p50/p99 ms':>19} same")
    for q in r["reports"]:
        g, d = q["gateway_ms"], q["duckdb_ms"]
        print(f"  {q['query']:<56} {g['p50']:>8.1f} / {g['p99']:<8.1f} {d['p50']:>8.1f} / {d['p99']:<8.1f} "
              f"{'yes' if q['same_figures'] else 'NO'}")
    worst = max(q["gateway_ms"]["p99"] for q in r["reports"])
    faster = all(q["gateway_ms"]["p99"] < q["duckdb_ms"]["p50"] for q in r["reports"])
    print(f"  worst gateway p99 {worst:.1f} ms (target <= {TARGET_P99_MS:.0f} ms: "
          f"{'met' if worst <= TARGET_P99_MS else 'NOT met'}); every gateway p99 below DuckDB's p50: "
          f"{'yes' if faster else 'no'}")


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/analytics.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=100, help="schools in the Trust (default 100)")
    parser.add_argument("--pupils-per-school", type=int, default=420, help="pupils on roll per school (default 420)")
    parser.add_argument("--batch", type=int, default=2000, help="records per consumed batch (default 2000, "
                        "the metrics service's BATCH_MAX_RECORDS)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per report and engine (default 200)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated Trust (default 2026)")
    parser.add_argument("--broker-periods", type=int, default=3, help="periods whose locks are also consumed "
                        "through the embedded broker by a real tidemark-metrics process (default 3; 0: skip)")
    args = parser.parse_args(argv)
    if min(args.schools, args.pupils_per_school, args.batch) < 1 or args.requests < 2:
        parser.error("need at least 1 school, 1 pupil per school, a batch of 1 and 2 requests")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import duckdb  # noqa: F401
    except ImportError:
        print("DuckDB is the benchmark's optional extra: `make bench-analytics` installs it "
              "(or: .venv/bin/pip install -c requirements/constraints.txt -r requirements/bench.txt)", file=sys.stderr)
        return 2
    result = run(args)
    print_table(result)
    print(json.dumps(rounded(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
