"""Benchmark recovery: how long the demo Trust's figures take to be exact again, with no manual
step, after the broker loses every event and after Redis loses the read model.

Usage: `make bench-recovery` (self-contained: it runs `tidemark-stack run` with the demo Trust in a
temporary state directory, on its own embedded broker, valkey and PostgreSQL, and stops it at the
end).

1. It waits for the stack (demo loaded and applied), then reads a snapshot of figures through the
   gateway: the summative and statutory dashboards and the attainment report by school for each
   subject, in the demo's latest period.
2. Broker loss: `kill -9` of the embedded broker. The runner starts a new one, which holds no
   topics and no events; the relay re-creates the topics and the projections rebuild every Trust
   from ingest's replay. Measured: seconds from the kill until every service's `/readyz` answers
   200 and every figure of the snapshot is served again, equal.
3. Redis loss: `FLUSHALL` as Redis's admin user (valkey keeps running, empty: what a Redis that
   restarts without its data looks like). Measured the same way; meanwhile the gateway answers 503
   "restoring", never wrong figures (counted: any 200 whose figures differ is reported).

Prints a plain-text table, then the same figures as one JSON line. Loopback only; every wait is
bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

SUBJECTS = ("reading", "writing", "maths", "rwm")
VOLATILE = {"last_updated", "generated_at", "as_of"}


def strip(value: Any) -> Any:
    """The figures of an answer, without the fields that say when it was computed."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def wait_for(condition: Callable[[], bool], timeout: float, poll: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return False


class Stack:
    def __init__(self, state_dir: Path, registers: bool = False) -> None:
        env = {**os.environ, "TIDEMARK_STATE_DIR": str(state_dir), "TIDEMARK_DEMO_REGISTERS": str(registers).lower()}
        for inherited in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", "REDIS_CLUSTER", "DATABASE_URL", "REDIS_PREFIX"):
            env.pop(inherited, None)
        from tidemark_runtime.embedded import free_port

        env["TIDEMARK_GATEWAY_PORT"], env["TIDEMARK_INGEST_PORT"] = str(free_port()), str(free_port())
        self.log = (state_dir.parent / "runner.log").open("w")
        self.runner = subprocess.Popen([sys.executable, "-m", "tidemark_runtime.stack", "run"], env=env,
                                       stdout=self.log, stderr=subprocess.STDOUT)
        stack_file = state_dir / "stack.json"
        if not wait_for(lambda: stack_file.exists() or self.runner.poll() is not None, timeout=1200, poll=1):
            raise TimeoutError("the stack was not ready within 20 minutes")
        if self.runner.poll() is not None:
            self.log.flush()
            raise RuntimeError("the stack stopped:\n" + Path(self.log.name).read_text()[-3000:])
        self.info = json.loads(stack_file.read_text())
        self.viewer = httpx.Client(base_url=self.info["gateway_url"], timeout=30,
                                   headers={"Authorization": f"Bearer {self.info['tokens']['viewer']}"})

    def stop(self) -> None:
        self.runner.send_signal(signal.SIGTERM)
        try:
            self.runner.wait(120)
        except subprocess.TimeoutExpired:
            self.runner.kill()
        self.log.close()

    def process_of(self, fragment: str) -> psutil.Process:
        [found] = [c for c in psutil.Process(self.runner.pid).children(recursive=True)
                   if c.is_running() and fragment in " ".join(c.cmdline())]
        return found

    def all_ready(self) -> bool:
        try:
            return all(httpx.get(f"{url}/readyz", timeout=5).status_code == 200
                       for url in self.info["services"].values())
        except httpx.HTTPError:
            return False

    def views(self) -> list[tuple[str, dict[str, str]]]:
        calendar = self.viewer.get("/v1/calendar").json()  # the page opens on the latest period with data
        opening = calendar["latest_with_data"] or calendar["current"]
        year, period = opening["academic_year"], opening["period"]
        found: list[tuple[str, dict[str, str]]] = [
            ("/v1/dashboards/summative", {"academic_year": year, "period": period}),
            ("/v1/dashboards/statutory", {"academic_year": calendar.get("latest_statutory_year") or year}),
        ]
        found += [("/v1/reports/attainment", {"measure": m, "by": "school", "academic_year": year, "period": period})
                  for m in SUBJECTS]
        return found

    def snapshot(self, views: list[tuple[str, dict[str, str]]]) -> list[Any] | None:
        """Every view's figures, or None while one of them cannot be answered."""
        figures = []
        for path, params in views:
            try:
                answer = self.viewer.get(path, params=params)
            except httpx.HTTPError:
                return None
            if answer.status_code != 200:
                return None
            figures.append(strip(answer.json()))
        return figures


def measure(stack: Stack, what: str, inflict: Callable[[], object], views: list[tuple[str, dict[str, str]]],
            expected: list[Any], timeout: float) -> dict[str, Any]:
    wrong_answers = 0
    started = time.monotonic()
    inflict()

    def exact() -> bool:
        nonlocal wrong_answers
        figures = stack.snapshot(views)
        if figures is None:
            return False
        if figures != expected:
            wrong_answers += 1
            return False
        return stack.all_ready()

    recovered = wait_for(exact, timeout)
    seconds = time.monotonic() - started
    return {"fault": what, "recovered": recovered, "seconds": round(seconds, 1), "wrong_answers_meanwhile": wrong_answers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/recovery.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per recovery (default 900)")
    parser.add_argument("--registers", action="store_true",
                        help="also post the demo registers (millions of marks) while it measures (default: not)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tidemark-recovery-") as scratch:
        started = time.monotonic()
        stack = Stack(Path(scratch) / "state", registers=args.registers)
        try:
            print(f"Stack with the demo Trust ready in {time.monotonic() - started:.0f} s", flush=True)
            views = stack.views()
            expected = stack.snapshot(views)
            assert expected is not None, "the gateway did not answer every view"
            admin = redis.Redis.from_url(stack.info["redis_urls"]["admin"])
            results = [
                measure(stack, "broker loss (kill -9, restarted empty)", lambda: stack.process_of("tansu").kill(),
                        views, expected, args.timeout),
                measure(stack, "Redis loss (FLUSHALL)", lambda: admin.flushall(), views, expected, args.timeout),
            ]
        finally:
            stack.stop()
    print(f"\n{'fault':45} {'exact again after':>18} {'wrong answers meanwhile':>24}")
    for result in results:
        after = f"{result['seconds']:.1f} s" if result["recovered"] else f"> {args.timeout:.0f} s"
        print(f"{result['fault']:45} {after:>18} {result['wrong_answers_meanwhile']:>24}")
    print(json.dumps({"recoveries": results}))
    return 0 if all(r["recovered"] and r["wrong_answers_meanwhile"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
