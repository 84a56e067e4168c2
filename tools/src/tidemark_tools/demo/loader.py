"""Post a generated demo Trust to the ingest HTTP API, the same way a school tracker would.

Why through HTTP rather than straight into the database: the demo then exercises the real path
(validation, outbox, Kafka, projections), and a demo that loads is evidence the API contract holds.
Order matters: schools before their classes before pupils (each earlier year's class first, then
the pupils as they are now) before results, and locks last so the results they cover exist;
the statutory results and their locks follow the summative ones in the same way.
"""

from __future__ import annotations

import time
from datetime import date
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel, SerializeAsAny, TypeAdapter

from tidemark_tools.demo.registers import register_batches
from tidemark_tools.demo.trust import DemoTrust

TIMEOUT_SECONDS = 60.0

T = TypeVar("T")


class LoadError(RuntimeError):
    """The ingest API refused a request; the message carries its status and response body."""


@dataclass(frozen=True)
class LoadReport:
    schools: int
    pupils: int
    assessments: int
    locks: int
    statutory: int
    statutory_locks: int
    requests: int
    elapsed_seconds: float


def load_trust(trust: DemoTrust, ingest_url: str, token: str, batch_size: int = 2000) -> LoadReport:
    """Post schools, pupils, results (in batches) and every lock, then the statutory results (in
    batches) and their locks; raise LoadError on a non-2xx."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ingest_url.rstrip("/"), headers=headers, timeout=TIMEOUT_SECONDS) as client:
        api = _Api(client)
        api.post("/v1/schools", _dump(trust.schools))
        for classes in _batches(trust.classes, batch_size):
            api.post("/v1/classes", _dump(classes))
        for year in trust.class_history:  # a batch holds a pupil once: each year's classes apart
            for pupils in _batches(year, batch_size):
                api.post("/v1/pupils", _dump(pupils))
        for pupils in _batches(trust.pupils, batch_size):
            api.post("/v1/pupils", _dump(pupils))
        for results in _batches(trust.assessments, batch_size):
            api.post("/v1/assessments", _dump(results))
        for lock in trust.locks:
            api.post("/v1/assessments/lock", lock.model_dump(mode="json", exclude_none=True))
        for statutory in _batches(trust.statutory, batch_size):
            api.post("/v1/statutory", _dump(statutory))
        for scope in trust.statutory_locks:
            api.post("/v1/statutory/lock", scope.model_dump(mode="json", exclude_none=True))
    return LoadReport(
        schools=len(trust.schools),
        pupils=len(trust.pupils),
        assessments=len(trust.assessments),
        locks=len(trust.locks),
        statutory=len(trust.statutory),
        statutory_locks=len(trust.statutory_locks),
        requests=api.requests,
        elapsed_seconds=time.perf_counter() - started,
    )


def load_registers(
    trust: DemoTrust, ingest_url: str, token: str, seed: int, today: date | None = None,
) -> tuple[int, float]:
    """Post the Trust's registers (`registers.register_batches`: every school day of its three
    years up to today) in batches of MAX_BATCH_ROWS, the bulk path of a back-fill; returns the marks
    posted and the seconds it took. Re-posting changes nothing (ingest keeps each mark once)."""
    started, posted = time.perf_counter(), 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=ingest_url.rstrip("/"), headers=headers, timeout=TIMEOUT_SECONDS * 5) as client:
        api = _Api(client)
        for batch in register_batches(trust.pupils, trust.academic_years, today or date.today(), seed):
            api.post("/v1/attendance", orjson.dumps(batch))
            posted += len(batch)
    return posted, time.perf_counter() - started


@dataclass
class _Api:
    """POSTs JSON bodies; a refusal names the endpoint, the status and the API's own explanation."""

    client: httpx.Client
    requests: int = 0

    def post(self, path: str, body: Any) -> None:
        if isinstance(body, bytes):
            response = self.client.post(path, content=body, headers={"content-type": "application/json"})
        else:
            response = self.client.post(path, json=body)
        self.requests += 1
        if not response.is_success:
            raise LoadError(f"POST {path} failed with HTTP {response.status_code}: {response.text}")


_ROWS: TypeAdapter[Sequence[BaseModel]] = TypeAdapter(Sequence[SerializeAsAny[BaseModel]])


def _dump(records: Sequence[BaseModel]) -> bytes:
    """The JSON body of a batch, serialised by pydantic's core in one call (fast for big batches)."""
    return _ROWS.dump_json(records)


def _batches(rows: Sequence[T], size: int) -> list[Sequence[T]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]
