"""Benchmark a running Tidemark stack: ingest rate, applied rate and lock-to-visible latency.

Usage (two terminals):

    make run      # starts the embedded stack; writes .tidemark/stack.json once it is ready
    make bench    # this script with its defaults; or, for example:
    .venv/bin/python bench/benchmark.py --pupils 5000 --samples 100

It creates a brand-new school `BENCH-<unix time>` in the stack's Trust, so every figure it reads
starts empty and the demo data is left alone (run it as often as you like; each run adds one
school). Against the ingest API (ingest token) and the gateway API (viewer token) it measures:

1. ingest rate: N pupils (Years 1-6) and their reading, writing and maths results (3N rows) in
   batches; rows per second accepted by ingest.
2. applied rate: one lock of the whole school period (default SUM2 of the current academic year),
   then the time until the gateway shows n == N for reading, writing and maths (polled every
   20 ms); locked results applied per second.
3. lock-to-visible latency: --samples times, enter one AT reading result for one more pupil in
   another period (default SUM1), lock narrowed to that pupil's year group and reading, and time
   from sending the lock to the gateway's reading n for the school going up by one (polled every
   5 ms); p50, p99 and max.

Prints a plain-text table, then the same figures as one JSON line (the last line of output).
Talks to loopback addresses only, and every wait is bounded, so it always stops by itself.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tidemark_schemas.calendar import academic_year_of, parse_academic_year

CORE_SUBJECTS = ("reading", "writing", "maths")
YEAR_GROUPS = ("Y1", "Y2", "Y3", "Y4", "Y5", "Y6")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


class BenchError(RuntimeError):
    """Something the reader must fix (stack not running, API refused a request, timeout)."""


# ---------------------------------------------------------------------------- HTTP helpers


class Api:
    """One keep-alive client per service, bearer token set, loopback only, errors made readable."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        host = urlsplit(base_url).hostname or ""
        if host not in LOOPBACK_HOSTS and not host.startswith("127."):
            raise BenchError(f"{base_url} is not a loopback address; this benchmark only talks to a local stack")
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            trust_env=False,  # no proxies: straight to loopback
        )

    def get(self, path: str, **params: Any) -> Any:
        return self._checked("GET", path, self.client.get(path, params=params))

    def post(self, path: str, body: Any) -> Any:
        return self._checked("POST", path, self.client.post(path, json=body))

    @staticmethod
    def _checked(method: str, path: str, response: httpx.Response) -> Any:
        if not response.is_success:
            raise BenchError(f"{method} {path} answered HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def close(self) -> None:
        self.client.close()


def wait_until(condition: Callable[[], bool], interval: float, timeout: float, what: str) -> float:
    """Poll `condition` every `interval` seconds; return the perf_counter() at which it first held."""
    deadline = time.perf_counter() + timeout
    while True:
        if condition():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise BenchError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def school_n(gateway: Api, school_id: str, measure: str, academic_year: str, period: str) -> int:
    """Pupils counted for one school in one measure (0 while the school has no figures yet)."""
    body = gateway.get(
        "/v1/reports/attainment", measure=measure, by="school", academic_year=academic_year, period=period
    )
    return next((int(row["n"]) for row in body["rows"] if row["group"] == school_id), 0)


# ---------------------------------------------------------------------------- test data


def make_pupils(school_id: str, count: int) -> list[dict[str, Any]]:
    return [
        {
            "pupil_id": f"{school_id}-P{i:06d}",
            "school_id": school_id,
            "year_group": YEAR_GROUPS[i % len(YEAR_GROUPS)],
            "sex": "F" if i % 2 else "M",
            "fsm6": i % 4 == 0,
            "lac": False,
            "plac": i % 50 == 0,
            "sen": "N" if i % 7 else "K",
            "eal": i % 5 == 0,
            "ethnicity": "WBRI",
            "left_on": None,
        }
        for i in range(count)
    ]


def make_results(pupils: list[dict[str, Any]], academic_year: str, period: str, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {
            "pupil_id": pupil["pupil_id"],
            "school_id": pupil["school_id"],
            "academic_year": academic_year,
            "period": period,
            "year_group": pupil["year_group"],
            "subject": subject,
            "band": rng.choices(("BELOW", "AT", "ABOVE"), weights=(25, 55, 20))[0],
        }
        for pupil in pupils
        for subject in CORE_SUBJECTS
    ]


def post_batches(ingest: Api, path: str, rows: list[dict[str, Any]], batch_size: int) -> float:
    """POST `rows` in batches; return the seconds it took."""
    started = time.perf_counter()
    for start in range(0, len(rows), batch_size):
        ingest.post(path, rows[start : start + batch_size])
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- the three measurements


def run(args: argparse.Namespace, ingest: Api, gateway: Api) -> dict[str, Any]:
    year, period, n = args.academic_year, args.period, args.pupils
    school_id = f"BENCH-{int(time.time())}"
    ingest.post("/v1/schools", [{"school_id": school_id, "name": f"Benchmark {school_id}"}])

    # 1. ingest rate
    pupils = make_pupils(school_id, n)
    results = make_results(pupils, year, period, args.seed)
    pupil_seconds = post_batches(ingest, "/v1/pupils", pupils, args.batch_size)
    result_seconds = post_batches(ingest, "/v1/assessments", results, args.batch_size)

    # 2. applied rate: one lock of the whole school period, until all three subjects show n == N
    lock_sent = time.perf_counter()
    locked = ingest.post("/v1/assessments/lock", {"school_id": school_id, "academic_year": year, "period": period})
    lock_answered = time.perf_counter()
    if locked.get("changed") != len(results):
        print(f"warning: the lock changed {locked.get('changed')} results, expected {len(results)}", file=sys.stderr)
    pending = set(CORE_SUBJECTS)

    def all_applied() -> bool:
        for measure in sorted(pending):
            if school_n(gateway, school_id, measure, year, period) == n:
                pending.discard(measure)
        return not pending

    applied_at = wait_until(all_applied, 0.020, args.timeout, f"n == {n} in {', '.join(CORE_SUBJECTS)}")
    applied_seconds = applied_at - lock_answered

    # 3. lock-to-visible latency: each sample adds one locked AT reading result in another period
    latencies: list[float] = []
    for i, pupil in enumerate(pupils[: args.samples]):
        entry = {**results[3 * i], "period": args.latency_period, "subject": "reading", "band": "AT"}
        ingest.post("/v1/assessments", [entry])
        scope = {"school_id": school_id, "academic_year": year, "period": args.latency_period,
                 "year_group": pupil["year_group"], "subject": "reading"}
        sent = time.perf_counter()
        answer = ingest.post("/v1/assessments/lock", scope)
        if answer.get("changed") != 1:
            print(f"warning: sample {i}: the lock changed {answer.get('changed')} results, expected 1", file=sys.stderr)
        expected = i + 1
        visible = wait_until(
            lambda: school_n(gateway, school_id, "reading", year, args.latency_period) >= expected,
            0.005, args.sample_timeout, f"sample {i} (reading n == {expected} in {args.latency_period})",
        )
        latencies.append((visible - sent) * 1000)

    return {
        "school_id": school_id,
        "academic_year": year,
        "period": period,
        "pupils": n,
        "pupils_seconds": pupil_seconds,
        "pupils_rows_per_s": n / pupil_seconds,
        "results_rows": len(results),
        "results_seconds": result_seconds,
        "results_rows_per_s": len(results) / result_seconds,
        "ingest_rows_per_s": (n + len(results)) / (pupil_seconds + result_seconds),
        "lock_request_ms": (lock_answered - lock_sent) * 1000,
        "applied_seconds": applied_seconds,
        "applied_per_s": len(results) / applied_seconds if applied_seconds > 0 else None,
        "latency_period": args.latency_period,
        "latency_ms": summarise(latencies),
    }


def summarise(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"samples": 0, "p50": None, "p99": None, "max": None}
    if len(latencies) == 1:
        p50 = p99 = latencies[0]
    else:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    return {"samples": len(latencies), "p50": p50, "p99": p99, "max": max(latencies)}


def rounded(value: Any) -> Any:
    """Floats to 3 decimals, recursively, for the JSON line."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    return value


def print_table(r: dict[str, Any]) -> None:
    lat = r["latency_ms"]
    rows = [
        ("school / period", f"{r['school_id']}  {r['academic_year']} {r['period']}"),
        ("ingest: pupils", f"{r['pupils']:,} rows in {r['pupils_seconds']:.2f} s = {r['pupils_rows_per_s']:,.0f} rows/s"),
        ("ingest: results", f"{r['results_rows']:,} rows in {r['results_seconds']:.2f} s = {r['results_rows_per_s']:,.0f} rows/s"),
        ("ingest: all rows", f"{r['ingest_rows_per_s']:,.0f} rows/s"),
        ("lock request (whole school)", f"{r['lock_request_ms']:.0f} ms"),
        ("applied: lock answered to n == N",
         f"{r['results_rows']:,} results in {r['applied_seconds']:.3f} s = {r['applied_per_s'] or 0:,.0f} results/s"),
    ]
    if lat["samples"]:
        rows.append((f"lock-to-visible ({lat['samples']} samples, {r['latency_period']})",
                     f"p50 {lat['p50']:.1f} ms   p99 {lat['p99']:.1f} ms   max {lat['max']:.1f} ms"))
    width = max(len(label) for label, _ in rows)
    print(f"{'measurement':<{width}}  result")
    print(f"{'-' * width}  {'-' * 50}")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


# ---------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/benchmark.py",
        description="Benchmark a running Tidemark stack (start `make run` first, then `make bench`).",
    )
    parser.add_argument("--stack-file", type=Path, default=Path(".tidemark/stack.json"),
                        help="written by `make run` (default: .tidemark/stack.json)")
    parser.add_argument("--pupils", type=int, default=2000, help="pupils in the benchmark school (default 2000)")
    parser.add_argument("--samples", type=int, default=50, help="lock-to-visible samples, at most --pupils (default 50)")
    parser.add_argument("--academic-year", default=academic_year_of(date.today()),
                        help="academic year of the results (default: the current one, %(default)s)")
    parser.add_argument("--period", default="SUM2", help="period of the bulk results and lock (default SUM2)")
    parser.add_argument("--latency-period", default="SUM1", help="period of the latency samples (default SUM1)")
    parser.add_argument("--batch-size", type=int, default=2000, help="rows per POST (default 2000)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the bulk lock (default 120)")
    parser.add_argument("--sample-timeout", type=float, default=30.0, help="seconds to wait per sample (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated bands (default 2026)")
    args = parser.parse_args(argv)
    try:
        parse_academic_year(args.academic_year)
    except ValueError as error:
        parser.error(f"--academic-year {args.academic_year!r}: {error}")
    if args.pupils < 1 or args.batch_size < 1 or not 0 <= args.samples <= args.pupils:
        parser.error("need --pupils >= 1, --batch-size >= 1 and 0 <= --samples <= --pupils")
    if args.period == args.latency_period:
        parser.error("--period and --latency-period must differ (each sample must change a visible number)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.stack_file.exists():
        print(f"{args.stack_file} not found: start the stack with `make run` and wait until it prints "
              f"'Tidemark is running'.", file=sys.stderr)
        return 2
    stack = json.loads(args.stack_file.read_text())
    ingest = gateway = None
    try:
        ingest = Api(stack["ingest_url"], stack["tokens"]["ingest"])
        gateway = Api(stack["gateway_url"], stack["tokens"]["viewer"])
        for api in (ingest, gateway):
            try:
                api.get("/healthz")
            except httpx.HTTPError as error:
                raise BenchError(f"{api.client.base_url} does not answer ({error}); is `make run` still going?")
        print(f"Benchmarking {stack['ingest_url']} and {stack['gateway_url']}: {args.pupils} pupils, "
              f"{args.samples} latency samples ...", flush=True)
        result = run(args, ingest, gateway)
    except (BenchError, httpx.HTTPError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        for api in (ingest, gateway):
            if api is not None:
                api.close()
    print_table(result)
    print(json.dumps(rounded(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
