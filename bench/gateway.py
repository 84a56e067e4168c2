"""Benchmark one gateway process: concurrent report readers, and open live pages while locks land.

Usage:

    make bench-gateway                                   # the defaults below
    .venv/bin/python bench/gateway.py --seconds 5        # a quicker look

Self-contained: it starts its own embedded valkey and ONE gateway process (`tidemark-gateway`, as
`make run` starts it, from the Python running this script) on loopback, and stops only those.
To compare with another checkout's gateway ("before", e.g. `git worktree add --detach
/tmp/gw-before main`): `--compare /tmp/gw-before --rounds 2` seeds once and runs before, after,
before, after on the same Trust, so that the machine's load falls on both alike (or
`--gateway-checkout PATH` to run only that checkout's). The gateway process then imports the gateway and
the libraries it uses (`tidemark_gateway`, `tidemark_runtime`, `tidemark_schemas`) from that
checkout's sources, with the same third-party packages; the script checks where they came from and
prints it. Everything else (the Trust, the load) is the same.

1. Seeds the demo Trust (`tidemark-demo`'s generator: 12 schools, about 4,000 pupils, the current
   academic year and the two before, every result and statutory result locked) through the real
   projection engines (the metrics and the statutory projection), as their consumers would.
2. Report readers: `--readers` keep-alive HTTP/1.1 connections spread over `--workers`
   load-generator processes, each sending its next request as soon as the previous answer is in
   (a closed loop), for `--seconds` after a warm-up. Scenarios:
   - one reader, the same view (the latency of a lone reader);
   - the same view: every reader asks for the same report;
   - different views: each reader walks its own rotation of the reports, dashboards and filters
     (two tokens: Trust-wide and school-scoped);
   - live: `--pages` open live pages (`GET /v1/live`, one SSE connection each, in a process of
     their own) while the readers read different views and a writer locks and unlocks one year
     group's subject at a time (`--locks-per-second`, through the projection engine: each lock is
     one change notice). Afterwards every page must have received every notice it may see,
     exactly once and in order (checked against the change stream).
3. Prints requests per second, p50 / p99 / max latency, the answers other than 200, and the CPU
   seconds the gateway and the load generator used, then everything as one JSON line.

The load generator speaks raw HTTP/1.1 on asyncio streams (no HTTP library), so that it costs the
shared CPU as little as possible; its own CPU time is printed next to the gateway's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

TRUST = "bench-gw"
PREFIX = "benchgw"
TOKENS = {
    "bench-trust-viewer": {"trust_id": TRUST, "role": "viewer", "schools": None, "see_pupils": True},
    "bench-school-viewer": {"trust_id": TRUST, "role": "viewer", "schools": ["S01"], "see_pupils": False},
}
TRUST_TOKEN, SCHOOL_TOKEN = TOKENS
BASELINE_REQUESTS_PER_S = 135.0
"""What one gateway process served under 50 concurrent readers in the ops engineer's run (issue 10)."""
TARGET_REQUESTS_PER_S = 10 * BASELINE_REQUESTS_PER_S
TARGET_P99_MS = 100.0
LONE_LOCK_SECONDS = 6.0
"""The quiet phase of the live scenario: an unlock, then the timed lock, 2 s apart."""
RECONNECT_SECONDS = 3.0
"""What /v1/live tells a browser to wait before reconnecting (`retry`)."""


# ------------------------------------------------------------------------- the views


def views(school_ids: Sequence[str], year: str, period: str, previous_year: str) -> list[tuple[str, str]]:
    """(token, path and query) of the views the readers walk: every report and dashboard with
    groupings and filters, mostly Trust-wide and some school-scoped."""
    two = list(school_ids[:2])
    at = {"academic_year": year, "period": period}
    wanted: list[tuple[str, str, dict[str, Any]]] = []
    for measure, by in (("reading", "school"), ("writing", "year_group"), ("maths", "sex"), ("rwm", "disadvantaged"),
                        ("rwm", "ethnicity"), ("gld", "school"), ("rwm", "school")):
        wanted.append((TRUST_TOKEN, "/v1/reports/attainment", {**at, "measure": measure, "by": by}))
    wanted += [
        (TRUST_TOKEN, "/v1/reports/attainment", {**at, "measure": "reading", "by": "school", "disadvantaged": "true"}),
        (TRUST_TOKEN, "/v1/reports/attainment", {**at, "measure": "rwm", "by": "year_group", "sex": "F", "sen": "K",
                                                 "school": two}),
        (TRUST_TOKEN, "/v1/reports/attainment", {**at, "measure": "maths", "by": "ethnicity", "eal": "true",
                                                 "year_group": ["Y5", "Y6"]}),
        (TRUST_TOKEN, "/v1/reports/attainment-overview", {**at, "measure": "reading", "by": "school"}),
        (TRUST_TOKEN, "/v1/reports/attainment-overview", {**at, "measure": "writing", "by": "sen"}),
        (TRUST_TOKEN, "/v1/reports/progress-over-time", {"academic_year": year}),
        (TRUST_TOKEN, "/v1/reports/progress-over-time", {"academic_year": year, "by": "subject", "measure": "rwm"}),
        (TRUST_TOKEN, "/v1/reports/gaps", {"academic_year": year, "gap": "disadvantaged"}),
        (TRUST_TOKEN, "/v1/reports/gaps", {"academic_year": year, "gap": "sex", "subject": "maths"}),
        (TRUST_TOKEN, "/v1/reports/pupil-overview", {**at, "by": "year_group"}),
        (TRUST_TOKEN, "/v1/reports/data-completion", at),
        (TRUST_TOKEN, "/v1/dashboards/summative", at),
        (TRUST_TOKEN, "/v1/dashboards/summative", {**at, "disadvantaged": "true"}),
        (TRUST_TOKEN, "/v1/dashboards/statutory", {"academic_year": previous_year}),
        (TRUST_TOKEN, "/v1/reports/statutory", {"academic_year": previous_year, "measure": "ks2.rwm"}),
        (TRUST_TOKEN, "/v1/reports/progress-from-statutory", {**at, "by": "school"}),
        (TRUST_TOKEN, "/v1/reports/progress-from-statutory", {**at, "category": "on_track_at", "pupils": "true"}),
        (TRUST_TOKEN, "/v1/schools", {}),
        (TRUST_TOKEN, "/v1/calendar", {}),
        (SCHOOL_TOKEN, "/v1/reports/attainment", {**at, "measure": "reading", "by": "year_group"}),
        (SCHOOL_TOKEN, "/v1/reports/attainment", {**at, "measure": "rwm", "by": "sex"}),
        (SCHOOL_TOKEN, "/v1/dashboards/summative", at),
        (SCHOOL_TOKEN, "/v1/reports/progress-over-time", {"academic_year": year}),
        (SCHOOL_TOKEN, "/v1/reports/data-completion", at),
    ]
    return [(token, f"{path}?{urlencode(params, doseq=True)}" if params else path) for token, path, params in wanted]


SAME_VIEW_INDEX = 0
"""The view every reader asks for in the same-view scenario: the attainment report, reading by school."""


def request_bytes(token: str, target: str) -> bytes:
    return (f"GET {target} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {token}\r\n"
            f"Accept: application/json\r\n\r\n").encode()


# ------------------------------------------------------------------------- the load generator


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(b" ", 2)[1]), headers


@dataclass
class ReaderShare:
    """What one load-generator process does: its connections and their rotations of requests."""

    host: str
    port: int
    rotations: list[list[bytes]]
    """One rotation of requests per connection."""
    start: float
    """time.monotonic() at which recording starts (after the warm-up)."""
    stop: float


async def _read_loop(share: ReaderShare, rotation: list[bytes], latencies: list[float],
                     statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(share.host, share.port)
    try:
        index = 0
        while (began := time.monotonic()) < share.stop:
            writer.write(rotation[index % len(rotation)])
            index += 1
            status, headers = await read_head(reader)
            await reader.readexactly(int(headers[b"content-length"]))
            if began >= share.start:
                latencies.append(time.monotonic() - began)
                statuses[status] += 1
            if headers.get(b"connection") == b"close":
                writer.close()
                reader, writer = await asyncio.open_connection(share.host, share.port)
    finally:
        writer.close()


def run_readers(share: ReaderShare, results: Any) -> None:
    """A load-generator process: its connections in one event loop; sends back (latencies in
    seconds, answers by status, CPU seconds of this process during the recorded window)."""
    latencies: list[float] = []
    statuses: dict[int, int] = defaultdict(int)
    cpu: list[float] = []

    async def main() -> None:
        async def clock() -> None:
            await asyncio.sleep(max(0.0, share.start - time.monotonic()))
            cpu.append(time.process_time())
            await asyncio.sleep(max(0.0, share.stop - time.monotonic()))
            cpu.append(time.process_time())

        await asyncio.gather(clock(), *(_read_loop(share, rotation, latencies, statuses) for rotation in share.rotations))

    asyncio.run(main())
    results.put((latencies, dict(statuses), cpu[1] - cpu[0]))


@dataclass
class PageShare:
    host: str
    port: int
    tokens: list[str]
    """One token per page."""
    stop: float
    ready: Any
    """A multiprocessing Event set once every page has answered (or failed) its first connection."""


@dataclass
class PageLog:
    token: str
    ids: list[str] = field(default_factory=list)
    """Every change event's id, in the order received."""
    times: list[float] = field(default_factory=list)
    """When each was received (time.monotonic(): one clock for every process of the machine)."""
    refused: int = 0
    """Connections answered with something other than 200 (each retried after RECONNECT_SECONDS)."""
    ended: int = 0
    """Streams the gateway ended (each resumed with Last-Event-ID, as a browser does)."""
    open_at_stop: bool = False


async def _page(share: PageShare, log: PageLog, first_answer: asyncio.Event | None) -> None:
    last_id: str | None = None
    while time.monotonic() < share.stop:
        try:
            reader, writer = await asyncio.open_connection(share.host, share.port)
        except OSError:
            log.refused += 1
            await asyncio.sleep(RECONNECT_SECONDS)
            continue
        resume = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
        writer.write(f"GET /v1/live HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {log.token}\r\n"
                     f"Accept: text/event-stream\r\n{resume}\r\n".encode())
        try:
            status, headers = await read_head(reader)
            if first_answer:  # answered (a stream that ends at once, or a refusal, counts)
                first_answer.set()
                first_answer = None
            if status != 200:
                log.refused += 1
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            while True:  # chunked transfer encoding: one chunk per event
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    break
                chunk = await reader.readexactly(size + 2)
                for line in chunk.split(b"\n"):
                    if line.startswith(b"id: "):
                        last_id = line[4:].decode()
                        log.ids.append(last_id)
                        log.times.append(time.monotonic())
            log.ended += 1
            await asyncio.sleep(RECONNECT_SECONDS)
        except (asyncio.IncompleteReadError, ConnectionError):
            log.ended += 1
            if first_answer:
                first_answer.set()
                first_answer = None
            await asyncio.sleep(RECONNECT_SECONDS)
        except asyncio.CancelledError:
            log.open_at_stop = True
            raise
        finally:
            writer.close()


def run_pages(share: PageShare, results: Any) -> None:
    """The live pages' process: every page an SSE connection, reconnecting like a browser."""
    logs = [PageLog(token) for token in share.tokens]
    cpu: list[float] = [time.process_time()]

    async def main() -> None:
        answered = [asyncio.Event() for _ in logs]
        tasks = [asyncio.create_task(_page(share, log, event)) for log, event in zip(logs, answered, strict=True)]
        await asyncio.wait([asyncio.create_task(event.wait()) for event in answered], timeout=30.0)
        share.ready.set()
        await asyncio.sleep(max(0.0, share.stop - time.monotonic()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    cpu.append(time.process_time())
    results.put(([(log.token, log.ids, log.refused, log.ended, log.open_at_stop, log.times) for log in logs],
                 cpu[1] - cpu[0]))


# ------------------------------------------------------------------------- seeding the Trust


async def seed(redis_url: str, seed_value: int) -> dict[str, Any]:
    """The demo Trust through the metrics and statutory projections; returns what the views need."""
    from redis.asyncio import Redis

    from analytics import Events, Record, build_trust  # noqa: PLC0415 (the analytics benchmark's event maker)
    import analytics
    from tidemark_metrics.domain.projection import METRICS
    from tidemark_runtime.kafka import parse_batch
    from tidemark_runtime.projections.engine import ProjectionEngine
    from tidemark_statutory.domain.projection import STATUTORY

    import orjson

    analytics.TRUST = TRUST  # the event maker's Trust
    trust, periods = build_trust(12, None, seed_value)  # type: ignore[arg-type]  (None: the demo's roll)
    redis = Redis.from_url(redis_url)
    metrics, statutory = ProjectionEngine(redis, PREFIX, METRICS), ProjectionEngine(redis, PREFIX, STATUTORY)
    make = Events()
    await redis.set(metrics.keyspace("").epoch_key, "1")  # the read model is whole, as the projection's recovery says

    async def apply(records: Any) -> None:
        records = iter(records)
        while chunk := list(islice(records, 2000)):
            events, rejected = parse_batch(chunk)
            if rejected:
                raise RuntimeError(f"the benchmark built an invalid event: {rejected[0][1]}")
            await metrics.apply(events)
            await statutory.apply(events)

    def statutory_locked(r: Any) -> Record:
        row = r.model_dump(mode="json")
        value = {name: row.pop(name) for name in ("mark", "scaled_score", "code")}
        return Record(orjson.dumps({**make._envelope("statutory-locked"), **row, "entered": value, "locked": value,
                                    "version": 1}))

    began = time.perf_counter()
    await apply([make.school(s.school_id, s.name, s.assessment_model.model_dump(mode="json") if s.assessment_model
                             else None) for s in trust.schools])
    await apply(make.pupil(p.model_dump(mode="json", exclude={"class_id"})) for p in trust.pupils)
    await apply(statutory_locked(r) for r in trust.statutory)
    for rows in periods.values():
        await apply(make.result(r, locked=True) for r in rows)
    await redis.aclose()
    refs = list(periods)
    latest = refs[-1]
    return {
        "schools": [s.school_id for s in trust.schools], "pupils": len(trust.pupils),
        "results": len(trust.assessments), "statutory": len(trust.statutory), "seconds": time.perf_counter() - began,
        "year": latest.academic_year, "period": latest.period, "previous_year": refs[-7].academic_year,
        "latest_results": [r.model_dump(mode="json") for r in periods[latest]],
    }


class LockWriter:
    """Locks and unlocks one (school, year group, subject) of the latest period at a time, through
    the metrics projection engine: each batch is one atomic write and one change notice."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in results:
            groups[(r["school_id"], r["year_group"], r["subject"])].append(r)
        self.groups = [rows for _key, rows in sorted(groups.items())]
        self.locked = [True] * len(self.groups)
        """Whether each group is locked now (the seed locked everything)."""
        self.version = 2
        self.batches = 0
        self.started: list[float] = []
        """time.monotonic() just before each batch was written (its notice follows within the write)."""

    def connect(self, redis_url: str) -> None:
        """Write through a client of the running event loop (each scenario runs its own)."""
        from redis.asyncio import Redis

        from tidemark_metrics.domain.projection import METRICS
        from tidemark_runtime.projections.engine import ProjectionEngine

        self.redis = Redis.from_url(redis_url)
        self.engine = ProjectionEngine(self.redis, PREFIX, METRICS)

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def step(self) -> None:
        """The next group in turn, unlocked if locked, else locked."""
        await self.toggle(self.batches % len(self.groups))

    async def toggle(self, index: int) -> None:
        from analytics import Events
        from tidemark_runtime.kafka import parse_batch

        import orjson

        rows = self.groups[index]
        unlock = self.locked[index]
        self.locked[index] = not unlock
        self.version += 1
        make = Events()
        records = []
        for r in rows:
            band = r["band"]
            body = {**make._envelope("assessment-unlocked" if unlock else "assessment-locked"), "pupil_id": r["pupil_id"],
                    "school_id": r["school_id"], "academic_year": r["academic_year"], "period": r["period"],
                    "year_group": r["year_group"], "subject": r["subject"], "entered_band": band,
                    "locked_band": None if unlock else band, "entered_code": r.get("code"),
                    "locked_code": None if unlock else r.get("code"), "version": self.version}
            records.append(type("Record", (), {"value": orjson.dumps(body)})())
        events, rejected = parse_batch(records)
        if rejected:
            raise RuntimeError(f"the benchmark built an invalid event: {rejected[0][1]}")
        self.started.append(time.monotonic())
        await self.engine.apply(events)
        self.batches += 1


# ------------------------------------------------------------------------- the run


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p99": cuts[98] * 1000, "max": max(latencies) * 1000}


@dataclass
class Gateway:
    host: str
    port: int
    pid: int


def spread(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


async def read_scenario(
    gateway: Gateway, rotations: list[list[bytes]], workers: int, warmup: float, seconds: float,
    during: Any = None,
) -> dict[str, Any]:
    """`rotations` (one per reader) over `workers` processes; `during` runs in this process while
    they record (the lock writer). Returns throughput, latency and CPU figures."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start = time.monotonic() + warmup + 1.5  # the workers' start-up (spawn) comes first
    stop = start + seconds
    processes = [context.Process(target=run_readers, args=(ReaderShare(gateway.host, gateway.port, share, start, stop),
                                                           results), daemon=True)
                 for share in spread(rotations, workers)]
    for process in processes:
        process.start()
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    gateway_cpu = cpu_seconds(gateway.pid)
    if during is not None:
        await during(stop)
    await asyncio.sleep(max(0.0, stop - time.monotonic()))
    gateway_cpu = cpu_seconds(gateway.pid) - gateway_cpu
    loop = asyncio.get_running_loop()
    collected = [await loop.run_in_executor(None, results.get, True, 120.0) for _ in processes]
    for process in processes:
        process.join(10)
    latencies = [latency for found, _s, _c in collected for latency in found]
    statuses: dict[int, int] = defaultdict(int)
    for _l, found, _c in collected:
        for status, count in found.items():
            statuses[status] += count
    return {
        "readers": len(rotations), "requests": len(latencies), "requests_per_s": len(latencies) / seconds,
        "latency_ms": percentiles(latencies), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "gateway_cpu_s": gateway_cpu, "load_generator_cpu_s": sum(c for _l, _s, c in collected), "seconds": seconds,
    }


async def live_scenario(
    gateway: Gateway, redis_url: str, rotations: list[list[bytes]], args: argparse.Namespace, writer: LockWriter,
) -> dict[str, Any]:
    from redis.asyncio import Redis

    from tidemark_schemas.aggregates import Keyspace

    context = multiprocessing.get_context("spawn")
    page_results, ready = context.Queue(), context.Event()
    tokens = [SCHOOL_TOKEN if i % 5 == 4 else TRUST_TOKEN for i in range(args.pages)]
    open_seconds = 30.0 + LONE_LOCK_SECONDS + args.warmup + args.seconds + 2 * RECONNECT_SECONDS + 10.0
    page_stop = time.monotonic() + open_seconds
    pages = context.Process(target=run_pages, args=(PageShare(gateway.host, gateway.port, tokens, page_stop, ready),
                                                     page_results), daemon=True)
    pages.start()
    loop = asyncio.get_running_loop()
    opened = await loop.run_in_executor(None, ready.wait, 30.0)
    redis = Redis.from_url(redis_url, decode_responses=True)
    changes = Keyspace(PREFIX, TRUST).changes
    newest = await redis.xrevrange(changes, count=1)
    marker = newest[0][0] if newest else "0-0"
    writer.connect(redis_url)
    first = writer.batches

    # A lock arriving at a quiet gateway with every page open: the first group (a class of S01, which
    # every page may see) is unlocked, then locked again; the lock is timed to the last page.
    await asyncio.sleep(LONE_LOCK_SECONDS / 3)
    await writer.toggle(0)
    await asyncio.sleep(LONE_LOCK_SECONDS / 3)
    await writer.toggle(0)
    lone_lock = writer.batches - 1 - first
    await asyncio.sleep(LONE_LOCK_SECONDS / 3)
    loaded_from = writer.batches - first

    async def locks(stop: float) -> None:
        interval = 1.0 / args.locks_per_second
        next_at = time.monotonic()
        while next_at < stop:
            await writer.step()
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    reads = await read_scenario(gateway, rotations, args.workers, args.warmup, args.seconds, locks)
    await asyncio.sleep(2 * RECONNECT_SECONDS)  # the last notices reach every page (and a page ended resumes)
    notices = await redis.xrange(changes, min=f"({marker}", max="+")
    await redis.aclose()
    await writer.aclose()
    logs, page_cpu = await loop.run_in_executor(None, page_results.get, True, open_seconds + 60)
    pages.join(10)
    visible = {TRUST_TOKEN: [i for i, _f in notices],
               SCHOOL_TOKEN: [i for i, f in notices if "S01" in f["schools"].split(",")]}
    notified = notification_times(notices, writer.started[first:], logs)
    under_load = notified[loaded_from:]
    complete = sum(1 for token, ids, *_rest in logs if ids == visible[token])
    missed = [token for token, ids, *_rest in logs if not set(visible[token]) <= set(ids)]
    duplicated = sum(1 for _t, ids, *_rest in logs if len(ids) != len(set(ids)))
    return {
        **reads, "pages": len(logs), "pages_opened_in_30s": bool(opened), "notices": len(notices),
        "lock_batches": writer.batches - first,
        "pages_with_every_notice_once_in_order": complete, "pages_missing_a_notice": len(missed),
        "pages_with_a_duplicate": duplicated, "page_connections_refused": sum(log[2] for log in logs),
        "page_streams_ended": sum(log[3] for log in logs), "pages_open_at_end": sum(1 for log in logs if log[4]),
        "pages_cpu_s": page_cpu,
        "lone_lock": notified[lone_lock] if len(notified) > lone_lock else None,
        "locks_under_load": {
            "locks": len(under_load),
            "ms_to_last_page": percentiles([n["ms_to_last_page"] / 1000 for n in under_load
                                            if n["ms_to_last_page"] is not None]),
            "fewest_pages_notified": min((n["pages_notified"] for n in under_load), default=None),
            "pages_may_see_each": sorted({n["pages_may_see"] for n in under_load}),
        },
    }


def notification_times(
    notices: list[tuple[str, dict[str, str]]], started: list[float], logs: list[Any]
) -> list[dict[str, Any]]:
    """Per lock batch (its notice is the batch's one change notice, in order): how many pages may
    see it, how many received it, and the milliseconds from the write to the last and the median
    page that received it."""
    if len(notices) != len(started):
        return []  # something else wrote notices: no pairing
    received: list[dict[str, float]] = [dict(zip(ids, times, strict=True)) for _t, ids, *_r, times in logs]
    found = []
    for (stream_id, fields), began in zip(notices, started, strict=True):
        may_see = [i for i, (token, *_rest) in enumerate(logs)
                   if token == TRUST_TOKEN or "S01" in fields["schools"].split(",")]
        delays = sorted(received[i][stream_id] - began for i in may_see if stream_id in received[i])
        found.append({
            "pages_may_see": len(may_see), "pages_notified": len(delays),
            "ms_to_last_page": delays[-1] * 1000 if delays else None,
            "ms_to_median_page": delays[len(delays) // 2] * 1000 if delays else None,
        })
    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Seed once, then run every gateway of the plan in turn (`--compare`: before, after, before,
    after, ... so that the machine's load falls on both alike), each a fresh process."""
    from tidemark_runtime.embedded import start_valkey

    workdir = Path(tempfile.mkdtemp(prefix="tidemark-bench-gateway-"))
    valkey = start_valkey(log_dir=workdir / "valkey")
    try:
        print("Seeding the demo Trust through the projections ...", flush=True)
        trust = asyncio.run(seed(valkey.url, args.seed))
        print(f"  {len(trust['schools'])} schools, {trust['pupils']:,} pupils, {trust['results']:,} results, "
              f"{trust['statutory']:,} statutory results in {trust['seconds']:.0f} s", flush=True)
        writer = LockWriter(trust["latest_results"])
        plan = [("before", args.compare), ("after", args.gateway_checkout)] if args.compare else [
            ("gateway", args.gateway_checkout)]
        runs = []
        for round_number in range(1, args.rounds + 1):
            for label, checkout in plan:
                print(f"\n=== {label}, round {round_number} ===", flush=True)
                runs.append({"label": label, "round": round_number,
                             **run_gateway(args, checkout, valkey.url, trust, writer, workdir)})
    finally:
        valkey.stop()
    return {"trust": {k: v for k, v in trust.items() if k != "latest_results"}, "runs": runs,
            "cpus": os.cpu_count(), "targets": {"requests_per_s": TARGET_REQUESTS_PER_S, "p99_ms": TARGET_P99_MS}}


def print_view_costs(client: Any, all_views: list[tuple[str, str]], repeats: int) -> None:
    """Each view asked `repeats` times by one reader: the mean answer time and size per view, the
    costliest first (where the different-views scenario's time goes)."""
    costs = []
    for token, target in all_views:
        began = time.perf_counter()
        for _ in range(repeats):
            size = len(client.get(target, headers={"Authorization": f"Bearer {token}"}).content)
        costs.append(((time.perf_counter() - began) / repeats * 1000, size, target))
    print(f"  view costs (one reader, {repeats} requests each; mean ms, bytes):", flush=True)
    for mean_ms, size, target in sorted(costs, reverse=True):
        print(f"    {mean_ms:7.2f} ms  {size:>9,} B  {target}", flush=True)


def run_gateway(
    args: argparse.Namespace, checkout: Path | None, redis_url: str, trust: dict[str, Any], writer: LockWriter,
    workdir: Path,
) -> dict[str, Any]:
    """One gateway process (from `checkout`'s sources, or this one's) through every scenario."""
    import httpx

    from tidemark_runtime.embedded import LOOPBACK, free_port
    from tidemark_runtime.stack import spawn_service, wait_healthy

    port = free_port()
    env = {"REDIS_URL": redis_url, "REDIS_PREFIX": PREFIX, "LOG_LEVEL": "WARNING",
           "TIDEMARK_TOKENS": json.dumps(TOKENS), **checkout_path(checkout)}
    source = gateway_source(env)
    print(f"Gateway under test: {source}", flush=True)
    gateway_process = spawn_service("gateway", env, LOOPBACK, port, workdir)
    try:
        wait_healthy([gateway_process])
        gateway = Gateway(LOOPBACK, port, gateway_process.process.pid)
        all_views = views(trust["schools"], trust["year"], trust["period"], trust["previous_year"])
        with httpx.Client(base_url=f"http://{LOOPBACK}:{port}", timeout=60.0, trust_env=False) as client:
            for token, target in all_views:  # every view answers (and the first computation is not timed)
                answer = client.get(target, headers={"Authorization": f"Bearer {token}"})
                if answer.status_code != 200:
                    raise RuntimeError(f"GET {target} answered {answer.status_code}: {answer.text[:300]}")
            if args.view_costs:
                print_view_costs(client, all_views, args.view_costs)
        requests = [request_bytes(token, target) for token, target in all_views]
        same = [[requests[SAME_VIEW_INDEX]]]
        different = [requests[i:] + requests[:i] for i in range(args.readers)]

        async def scenarios() -> dict[str, Any]:
            found: dict[str, Any] = {}
            for name, rotations, workers in (("one reader, same view", same, 1),
                                             ("same view", same * args.readers, args.workers),
                                             ("different views", [different[i % len(different)]
                                                                  for i in range(args.readers)], args.workers)):
                print(f"Scenario: {name} ({len(rotations)} readers, {args.seconds:.0f} s) ...", flush=True)
                found[name] = await read_scenario(gateway, rotations, workers, args.warmup, args.seconds)
                print_scenario(name, found[name])
            if args.pages:
                name = f"{args.pages} live pages + different views + locks"
                print(f"Scenario: {name} ...", flush=True)
                found[name] = await live_scenario(gateway, redis_url, different[: args.readers], args, writer)
                print_scenario(name, found[name])
            return found

        results = asyncio.run(scenarios())
    finally:
        gateway_process.stop()
    return {"gateway": source, "views": len(all_views), "scenarios": results, "load_average": os.getloadavg()}


SOURCES = ("services/gateway/src", "libs/runtime/src", "libs/schemas/src")
"""What the gateway process imports from a checkout named by --gateway-checkout."""


def checkout_path(checkout: Path | None) -> dict[str, str]:
    """The environment that makes the gateway process import a checkout's sources (none: this one's)."""
    if checkout is None:
        return {}
    paths = [checkout.resolve() / source for source in SOURCES]
    if missing := [str(path) for path in paths if not path.is_dir()]:
        raise SystemExit(f"--gateway-checkout: no {', '.join(missing)}")
    return {"PYTHONPATH": os.pathsep.join(map(str, paths))}


def gateway_source(env: dict[str, str]) -> str:
    """Where a process started with `env` imports the gateway and the runtime from."""
    probe = ("import tidemark_gateway, tidemark_runtime, pathlib; "
             "print(pathlib.Path(tidemark_gateway.__file__).parents[4], pathlib.Path(tidemark_runtime.__file__).parents[4])")
    found = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env}, capture_output=True, text=True,
                           check=True).stdout.split()
    if len(set(found)) != 1:
        raise SystemExit(f"the gateway and the runtime would come from different checkouts: {found}")
    return found[0]


def print_scenario(name: str, r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    others = {k: v for k, v in r["statuses"].items() if k != "200"}
    print(f"  {name:<46} {r['requests_per_s']:>8,.0f} req/s  p50 {lat['p50']:>6.1f}  p99 {lat['p99']:>6.1f}  "
          f"max {lat['max']:>7.1f} ms  not 200: {others or 0}  CPU gateway {r['gateway_cpu_s']:.1f} s "
          f"({r['requests'] / max(r['gateway_cpu_s'], 0.01):,.0f} requests per CPU-second), "
          f"load generator {r['load_generator_cpu_s']:.1f} s", flush=True)
    if "pages" in r:
        print(f"    {r['pages']} pages, {r['notices']} notices ({r['lock_batches']} lock batches): "
              f"{r['pages_with_every_notice_once_in_order']} pages got every notice they may see once and in order, "
              f"{r['pages_missing_a_notice']} missed one, {r['pages_with_a_duplicate']} got a duplicate; "
              f"connections refused {r['page_connections_refused']}, streams ended {r['page_streams_ended']}, "
              f"open at the end {r['pages_open_at_end']}; pages' CPU {r['pages_cpu_s']:.1f} s", flush=True)
        lone, loaded = r["lone_lock"], r["locks_under_load"]
        if lone is not None:
            print(f"    a lock on a quiet gateway: {lone['pages_notified']} of {lone['pages_may_see']} pages notified, "
                  f"the last after {_ms(lone['ms_to_last_page'])}, the median after {_ms(lone['ms_to_median_page'])}",
                  flush=True)
        spread = loaded["ms_to_last_page"]
        print(f"    {loaded['locks']} locks under load: the last page notified after p50 {spread['p50']:.1f} / "
              f"p99 {spread['p99']:.1f} / max {spread['max']:.1f} ms; fewest pages notified of one lock "
              f"{loaded['fewest_pages_notified']} (of {'/'.join(map(str, loaded['pages_may_see_each']))})", flush=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def print_summary(r: dict[str, Any]) -> None:
    print()
    print(f"Gateway, one process each, demo Trust ({len(r['trust']['schools'])} schools, {r['trust']['pupils']:,} "
          f"pupils); {r['cpus']} CPUs")
    for run in r["runs"]:
        print(f"{run['label']}, round {run['round']} (gateway from {run['gateway']}, {run['views']} views, "
              f"load average {run['load_average'][0]:.1f}):")
        for name, scenario in run["scenarios"].items():
            print_scenario(name, scenario)
        for name in ("same view", "different views"):
            found = run["scenarios"][name]
            met = found["requests_per_s"] >= TARGET_REQUESTS_PER_S and found["latency_ms"]["p99"] < TARGET_P99_MS
            print(f"  target ({name}): >= {TARGET_REQUESTS_PER_S:,.0f} req/s and p99 < {TARGET_P99_MS:.0f} ms: "
                  f"{'met' if met else 'NOT met'}")


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item) for item in value]
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/gateway.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, default=50, help="concurrent readers (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="load-generator processes for the readers (default 2)")
    parser.add_argument("--seconds", type=float, default=10.0, help="recorded seconds per scenario (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds before each (default 2)")
    parser.add_argument("--pages", type=int, default=500, help="open live pages in the live scenario (default 500; 0: skip)")
    parser.add_argument("--locks-per-second", type=float, default=4.0,
                        help="lock batches written during the live scenario (default 4)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the demo Trust (default 2026)")
    parser.add_argument("--gateway-checkout", type=Path, default=None,
                        help="run the gateway from this checkout's sources (default: this one's)")
    parser.add_argument("--compare", type=Path, default=None, metavar="BEFORE_CHECKOUT",
                        help="alternate this checkout's gateway ('before', e.g. a worktree of main) with the one "
                             "under test ('after') on the same Trust, --rounds times each")
    parser.add_argument("--view-costs", type=int, default=0, metavar="N",
                        help="first time each view N times with one reader and print the costliest (default 0: skip)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each gateway (default 1)")
    args = parser.parse_args(argv)
    if args.readers < 1 or args.workers < 1 or args.seconds <= 0 or args.locks_per_second <= 0 or args.rounds < 1:
        parser.error("need at least one reader, worker and round, and positive seconds and lock rate")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print_summary(result)
    print(json.dumps(rounded(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
