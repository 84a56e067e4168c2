"""The ingest HTTP API (FastAPI): schools, pupils, entered summative and statutory results, locks
and unlocks.

Every write is a batch validated whole: one bad row rejects the batch with a 422 listing every
bad row, field and reason. Accepted changes and their events commit in one transaction.
"""


import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from aiokafka import AIOKafkaProducer
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from tidemark_ingest.adapters.database import create_engine, session_factory
from tidemark_ingest.adapters.relay import OutboxRelay
from tidemark_ingest.domain.validation import RowError
from tidemark_ingest.entrypoints.replay import router as replay_router
from tidemark_ingest.migrations import require_head
from tidemark_ingest.service_layer import BatchRejected, IngestService, Outcome
from tidemark_ingest.settings import IngestSettings
from tidemark_runtime.auth import lookup_token, principal_dependency
from tidemark_runtime.kafka import ensure_topics, producer_options
from tidemark_runtime.observability.http import instrument
from tidemark_runtime.observability.metrics import set_outbox
from tidemark_runtime.settings import Principal
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.records import AssessmentRecord, LockScope, PupilRecord, SchoolRecord
from tidemark_schemas.statutory import StatutoryLockScope, StatutoryRecord

log = logging.getLogger(__name__)


class BatchAccepted(BaseModel):
    received: int = Field(description="Rows (or results in scope) in the request")
    changed: int = Field(description="Facts that changed; 0 when the same batch is sent again")
    events: int = Field(description="Events written to the outbox for publication")


class FieldError(BaseModel):
    row: int | None = Field(description="Index of the row in the batch; null for a single-object body")
    field: str
    reason: str
    value: Any = None


class BatchRefused(BaseModel):
    detail: str
    errors: list[FieldError]


def _refusal(errors: list[RowError]) -> JSONResponse:
    body = BatchRefused(
        detail="the batch was rejected whole; nothing from it was stored",
        errors=[FieldError(row=e.row, field=e.field, reason=e.reason, value=e.value) for e in errors],
    )
    return JSONResponse(status_code=422, content=body.model_dump(mode="json"))


def _from_validation_error(error: RequestValidationError) -> list[RowError]:
    """FastAPI locations look like ("body", 3, "band"): row 3, field band."""
    errors = []
    for item in error.errors():
        location = [part for part in item["loc"] if part != "body"]
        row = location.pop(0) if location and isinstance(location[0], int) else None
        field = ".".join(str(part) for part in location) or "(body)"
        reason = item["msg"].removeprefix("Value error, ")
        value = item.get("input") if not isinstance(item.get("input"), dict | list) else None
        errors.append(RowError(row, field, reason, value))
    return errors


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    authenticate = principal_dependency(lambda: settings.tidemark_tokens, "ingest")
    Caller = Annotated[Principal, Depends(authenticate)]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        try:
            await require_head(engine)  # the schema is the prestart step's job (`tidemark-ingest migrate`)
        except BaseException:
            await engine.dispose()
            raise
        if settings.kafka_create_topics:
            await ensure_topics(
                settings,
                settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id="tidemark-ingest-relay",
            linger_ms=5,  # the relay sends a batch of rows at once: let them share requests
            **producer_options(settings),
        )
        await producer.start()
        sessions = session_factory(engine)
        relay = OutboxRelay(sessions, producer, settings.relay_batch_size, settings.relay_idle_poll_seconds)
        app.state.relay = relay
        app.state.engine = engine
        app.state.service = IngestService(sessions, PeriodCalendar(settings.assessment_periods), relay.wake)
        relay_task = asyncio.create_task(relay.run_forever(), name="outbox-relay")
        try:
            yield
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            await producer.stop()
            await engine.dispose()

    app = FastAPI(
        title="Tidemark ingest API",
        version="1.0.0",
        description=(
            "Takes schools, pupils, summative and statutory results from a school tracker. Bearer token "
            "scoped to one Trust. Batches are validated whole: 422 lists every bad row, field and reason and "
            "nothing from the batch is stored; re-sending an identical batch changes nothing."
        ),
        lifespan=lifespan,
        responses={422: {"model": BatchRefused, "description": "The batch was rejected whole"}},
    )
    app.state.settings = settings
    app.include_router(replay_router)

    async def outbox_gauges() -> None:
        set_outbox(*await app.state.relay.outbox_state())

    instrument(app, "ingest", refreshers=[outbox_gauges])  # request ids, latency by route, traces, GET /metrics

    batch_records: dict[str, TypeAdapter[Any]] = {
        "/v1/schools": TypeAdapter(SchoolRecord),
        "/v1/pupils": TypeAdapter(PupilRecord),
        "/v1/assessments": TypeAdapter(AssessmentRecord),
        "/v1/statutory": TypeAdapter(StatutoryRecord),
    }

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        """Structural errors, plus the referential errors of the rows that are structurally fine."""
        errors = _from_validation_error(error)
        adapter = batch_records.get(request.url.path)
        principal = _principal_of(request)
        if adapter is not None and principal is not None and isinstance(error.body, list):
            bad_rows = {e.row for e in errors}
            rows: list[Any] = []
            for i, raw in enumerate(error.body[: settings.max_batch_rows]):
                try:
                    rows.append(None if i in bad_rows else adapter.validate_python(raw))
                except ValidationError:
                    rows.append(None)
            errors += await request.app.state.service.referential_errors(principal.trust_id, rows)
        errors.sort(key=lambda e: (-1 if e.row is None else e.row, e.field))
        return _refusal(errors)

    def _principal_of(request: Request) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return lookup_token(settings.tidemark_tokens, token) if scheme.lower() == "bearer" else None

    @app.exception_handler(BatchRejected)
    async def _rejected(_request: Request, error: BatchRejected) -> JSONResponse:
        return _refusal(error.errors)

    def service(request: Request) -> IngestService:
        return request.app.state.service  # type: ignore[no-any-return]

    Service = Annotated[IngestService, Depends(service)]

    def accepted(outcome: Outcome) -> BatchAccepted:
        return BatchAccepted(received=outcome.received, changed=outcome.changed, events=outcome.events)

    def bounded(rows: list[Any]) -> None:
        if len(rows) > settings.max_batch_rows:
            raise BatchRejected([RowError(None, "(body)", f"at most {settings.max_batch_rows} rows per batch")])

    @app.get("/healthz", tags=["operations"])
    async def health(request: Request) -> dict[str, Any]:
        """Liveness plus the outbox backlog (events stored but not yet on Kafka)."""
        relay: OutboxRelay = request.app.state.relay
        return {"status": "ok", "outbox_backlog": await relay.backlog(), "published": relay.published}

    @app.post("/v1/schools", response_model=BatchAccepted, tags=["tracker"])
    async def post_schools(records: list[SchoolRecord], caller: Caller, svc: Service) -> BatchAccepted:
        """Create or rename schools of the caller's Trust."""
        bounded(records)
        return accepted(await svc.post_schools(caller.trust_id, records))

    @app.post("/v1/pupils", response_model=BatchAccepted, tags=["tracker"])
    async def post_pupils(records: list[PupilRecord], caller: Caller, svc: Service) -> BatchAccepted:
        """Create or update pupils (current characteristics; `left_on` marks a leaver)."""
        bounded(records)
        return accepted(await svc.post_pupils(caller.trust_id, records))

    @app.post("/v1/assessments", response_model=BatchAccepted, tags=["tracker"])
    async def post_assessments(records: list[AssessmentRecord], caller: Caller, svc: Service) -> BatchAccepted:
        """Enter (draft) summative results. Drafts count in no attainment figure until locked."""
        bounded(records)
        return accepted(await svc.enter_assessments(caller.trust_id, records))

    @app.post("/v1/assessments/lock", response_model=BatchAccepted, tags=["tracker"])
    async def lock(scope: LockScope, caller: Caller, svc: Service) -> BatchAccepted:
        """Lock a school's period (optionally one year group and/or subject): entered results now count.
        Locking again after a changed entry is a correction; the new value replaces the old."""
        return accepted(await svc.lock(caller.trust_id, scope))

    @app.post("/v1/assessments/unlock", response_model=BatchAccepted, tags=["tracker"])
    async def unlock(scope: LockScope, caller: Caller, svc: Service) -> BatchAccepted:
        """Unlock: the results stop counting until they are locked again."""
        return accepted(await svc.unlock(caller.trust_id, scope))

    @app.post("/v1/statutory", response_model=BatchAccepted, tags=["tracker"])
    async def post_statutory(records: list[StatutoryRecord], caller: Caller, svc: Service) -> BatchAccepted:
        """Enter (draft) statutory results: one component of one assessment per row, with a raw mark,
        a scaled score and/or a code of that component (`tidemark_schemas.statutory.COMPONENTS`).
        KS2 code `T` is stored as `U`. Drafts count in no statutory measure until locked."""
        bounded(records)
        return accepted(await svc.enter_statutory(caller.trust_id, records))

    @app.post("/v1/statutory/lock", response_model=BatchAccepted, tags=["tracker"])
    async def lock_statutory(scope: StatutoryLockScope, caller: Caller, svc: Service) -> BatchAccepted:
        """Lock a school's statutory results of an academic year (optionally one assessment): entered
        values now count. Locking again after a changed entry is a correction."""
        return accepted(await svc.lock_statutory(caller.trust_id, scope))

    @app.post("/v1/statutory/unlock", response_model=BatchAccepted, tags=["tracker"])
    async def unlock_statutory(scope: StatutoryLockScope, caller: Caller, svc: Service) -> BatchAccepted:
        """Unlock: the statutory results stop counting until they are locked again."""
        return accepted(await svc.unlock_statutory(caller.trust_id, scope))

    return app
