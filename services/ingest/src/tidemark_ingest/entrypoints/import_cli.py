"""`tidemark-import FILE --kind summative --url http://127.0.0.1:8001`: upload a CSV or Excel file
to ingest's bulk import, show its validation and storing as progress bars, commit it, and exit 0 when
it is stored; 1 when the file has errors (each printed: row, column, reason) or the import failed;
2 when the request itself was refused (no key, a bad option, a 4xx). A file uploaded without
`--mapping` is read with the mapping saved for its school and file shape by an earlier import
committed with one, if there is one (it says so).

The API key is read from the environment (`TIDEMARK_INGEST_TOKEN`), never from the command line,
where the process list would show it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tidemark_ingest.domain.imports import ImportKind
from tidemark_runtime.stack import DEMO_TOKEN_VARIABLE

KEY_VARIABLE = DEMO_TOKEN_VARIABLE
"""The environment variable holding the ingest API key (the same the demo loader reads)."""
POLL_SECONDS = 0.5
ERRORS_PRINTED = 50


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidemark-import", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path, help="a .csv (UTF-8) or .xlsx file, its first row naming the columns")
    parser.add_argument("--kind", required=True, choices=[kind.value for kind in ImportKind])
    parser.add_argument("--url", required=True, help="ingest's base URL, e.g. http://127.0.0.1:8001")
    parser.add_argument("--school-id", help="the school of every row, for a file without a school_id column")
    parser.add_argument("--academic-year", help="e.g. 2025/26, for a file without an academic_year column")
    parser.add_argument("--period", help="e.g. AUT1, for a file without a period column")
    parser.add_argument("--mapping", help='JSON: file header -> field, e.g. \'{"UPN": "pupil_id"}\'')
    parser.add_argument("--check", action="store_true", help="validate only: report the errors, store nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        print(f"tidemark-import: set {KEY_VARIABLE} to an ingest API key", file=sys.stderr)
        return 2
    return asyncio.run(_with_client(args, key))


async def _with_client(args: argparse.Namespace, key: str) -> int:
    async with httpx.AsyncClient(base_url=args.url, timeout=120) as client:
        return await run(args, client, key, Console(stderr=True))


async def run(args: argparse.Namespace | Sequence[str], client: httpx.AsyncClient, key: str, console: Console,
              poll_seconds: float = POLL_SECONDS) -> int:
    """Upload, follow, commit and report; the exit status."""
    if not isinstance(args, argparse.Namespace):
        args = _parser().parse_args(list(args))
    headers = {"Authorization": f"Bearer {key}"}
    form = {name: value for name, value in (("kind", args.kind), ("school_id", args.school_id),
                                            ("academic_year", args.academic_year), ("period", args.period),
                                            ("mapping", args.mapping)) if value}
    try:
        content = args.file.read_bytes()
    except OSError as error:
        console.print(f"tidemark-import: cannot read {args.file}: {error.strerror}")
        return 2
    response = await client.post("/v1/imports", headers=headers, data=form, files={"file": (args.file.name, content)})
    if response.status_code != 202:
        console.print(f"tidemark-import: the upload was refused ({response.status_code}): {_detail(response)}")
        return 2
    import_id = response.json()["import_id"]
    with _bar(console) as bar:
        task = bar.add_task("validating", total=None)
        status = await _follow(client, headers, import_id, bar, task, "rows_read", {"validating"}, poll_seconds)
    if status.get("mapping_from") == "saved":
        console.print("read with the column mapping saved for this school and file shape: "
                      + json.dumps(status["mapping"]), markup=False)
    if status["state"] != "ready":
        return _report_errors(console, status)
    console.print(f"{status['rows_valid']} rows valid")
    if args.check:
        return 0
    response = await client.post(f"/v1/imports/{import_id}/commit", headers=headers)
    if response.status_code != 202:
        console.print(f"tidemark-import: the commit was refused ({response.status_code}): {_detail(response)}")
        return 2
    with _bar(console) as bar:
        task = bar.add_task("storing", total=status["rows_valid"])
        status = await _follow(client, headers, import_id, bar, task, "rows_stored", {"storing"}, poll_seconds)
    if status["state"] != "done":
        return _report_errors(console, status)
    console.print(f"stored {status['rows_stored']} rows of {args.file.name} (import {import_id})")
    return 0


def _bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                    TimeElapsedColumn(), console=console, transient=False)


async def _follow(client: httpx.AsyncClient, headers: dict[str, str], import_id: str, bar: Progress, task: Any,
                  counter: str, working: set[str], poll_seconds: float) -> dict[str, Any]:
    while True:
        response = await client.get(f"/v1/imports/{import_id}", headers=headers)
        response.raise_for_status()
        status: dict[str, Any] = response.json()
        bar.update(task, completed=status[counter])
        if status["state"] not in working:
            return status
        await asyncio.sleep(poll_seconds)


def _report_errors(console: Console, status: dict[str, Any]) -> int:
    console.print(f"import {status['import_id']} is {status['state']}"
                  + (f": {status['reason']}" if status.get("reason") else "")
                  + f" ({status['error_count']} errors; nothing was stored)")
    for error in status["errors"][:ERRORS_PRINTED]:
        where = "the file" if error["row"] is None else f"row {error['row']}"
        value = "" if error["value"] is None else f" (value {error['value']!r})"
        console.print(f"  {where}, column {error['column']!r}: {error['reason']}{value}", markup=False)
    if status["error_count"] > ERRORS_PRINTED:
        console.print(f"  ... and {status['error_count'] - ERRORS_PRINTED} more: GET {status['errors_csv_url']}",
                      markup=False)
    return 1


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return detail if isinstance(detail, str) else json.dumps(detail)[:1000]


if __name__ == "__main__":
    raise SystemExit(main())
