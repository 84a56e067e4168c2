"""`tidemark-demo`: generate the demo Trust and load it into ingest, or show its calibration.

Why a CLI: a fresh deployment needs believable data in one command (`load`), and anyone judging
the dashboards needs to see how close the demo is to the national figures (`summary`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from typing import Any

from tidemark_tools.demo.generator import NATIONAL_FIGURES, generate_trust, national_summary, roll_profile
from tidemark_tools.demo.loader import LoadError, load_registers, load_trust
from tidemark_tools.demo.statutory import STATUTORY_NATIONAL_FIGURES, statutory_summary
from tidemark_tools.demo.trust import DemoTrust
from tidemark_runtime.stack import DEMO_TOKEN_VARIABLE
from tidemark_schemas.calendar import HALF_TERMS


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; 0 on success, 1 when the ingest API refused the data, 2 without a token."""
    args = _parser().parse_args(argv)
    trust = generate_trust(
        seed=args.seed, schools=args.schools, pupils_per_school=args.pupils_per_school, today=args.today
    )
    if args.command == "summary":
        print(json.dumps(_summary(trust, args), indent=2))
        return 0
    token = args.token or os.environ.get(DEMO_TOKEN_VARIABLE)
    if not token:
        print(f"tidemark-demo: give the ingest token with --token or {DEMO_TOKEN_VARIABLE}", file=sys.stderr)
        return 2
    if args.command == "registers":
        try:
            marks, seconds = load_registers(trust, args.ingest_url, token, seed=args.seed, today=args.today)
        except LoadError as error:
            print(f"tidemark-demo: {error}", file=sys.stderr)
            return 1
        print(f"loaded {marks} register marks of {len(trust.academic_years)} academic years in {seconds:.0f}s "
              f"({marks / max(seconds, 1e-9):.0f} marks/s)")
        return 0
    try:
        report = load_trust(trust, args.ingest_url, token, batch_size=args.batch_size)
    except LoadError as error:
        print(f"tidemark-demo: {error}", file=sys.stderr)
        return 1
    print(
        f"loaded {report.schools} schools, {report.pupils} pupils, {report.assessments} results and "
        f"{report.locks} locks, {report.statutory} statutory results and {report.statutory_locks} statutory "
        f"locks in {report.requests} requests ({report.elapsed_seconds:.1f}s); "
        f"current period {trust.current_year} {trust.current_period} left unlocked"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidemark-demo", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="generate the demo Trust and post it to the ingest API")
    load.add_argument("--ingest-url", required=True, help="e.g. http://127.0.0.1:8001")
    load.add_argument(
        "--token",
        help=f"bearer token of the Trust to load into (default: ${DEMO_TOKEN_VARIABLE}, the better way: a secret on "
        "the command line shows in the process list, and one starting with '-' must be given as --token=VALUE)",
    )
    load.add_argument("--batch-size", type=int, default=2000, help="rows per POST (default 2000)")
    registers = commands.add_parser(
        "registers", help="post the demo Trust's registers (every school day of the three years) to the ingest API, "
        "after `load`")
    registers.add_argument("--ingest-url", required=True, help="e.g. http://127.0.0.1:8001")
    registers.add_argument("--token", help=f"as for load (default: ${DEMO_TOKEN_VARIABLE})")
    summary = commands.add_parser("summary", help="print the calibration against national figures (JSON)")
    for command in (load, registers, summary):
        command.add_argument("--seed", type=int, default=2026, help="same seed and day, same Trust")
        command.add_argument("--schools", type=int, default=12)
        command.add_argument(
            "--pupils-per-school",
            type=int,
            default=None,
            help="mean roll per school (default: ~4,000 pupils in all)",
        )
        command.add_argument(
            "--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD; decides the current period"
        )
    return parser


def _summary(trust: DemoTrust, args: argparse.Namespace) -> dict[str, Any]:
    """SUM2 of every complete year plus the latest locked period, beside the national figures;
    the statutory figures of every year of the window with results, beside theirs."""
    locked = {(lock.academic_year, lock.period) for lock in trust.locks}
    shown = [(year, "SUM2") for year in trust.academic_years if (year, "SUM2") in locked]
    latest = max(locked, key=lambda ref: (ref[0], HALF_TERMS.index(ref[1])), default=None)
    if latest is not None and latest not in shown:
        shown.append(latest)
    return {
        "seed": args.seed,
        "today": (args.today or date.today()).isoformat(),
        "schools": len(trust.schools),
        "current_period": f"{trust.current_year} {trust.current_period} (entered, not locked)",
        "roll": _rounded(roll_profile(trust)),
        "national": dict(NATIONAL_FIGURES),
        "generated": {
            f"{year} {period}": _rounded(national_summary(trust, year, period)) for year, period in shown
        },
        "statutory": {
            "national": dict(STATUTORY_NATIONAL_FIGURES),
            "generated": {
                year: _rounded(statutory_summary(trust, year))
                for year in sorted({r.academic_year for r in trust.statutory} & set(trust.academic_years))
            },
        },
    }


def _rounded(figures: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in figures.items()}


if __name__ == "__main__":
    sys.exit(main())
