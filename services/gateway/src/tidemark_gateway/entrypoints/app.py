"""The gateway (FastAPI): dashboards as JSON under /v1, the web UI at /, live updates as SSE.

Stateless: every request reads the Redis read model (`adapters.redis_reader`) for the caller's
Trust only, and only the schools the caller may see.
"""

# No `from __future__ import annotations` here: FastAPI must resolve the `Annotated` aliases that
# create_app defines locally (they depend on the settings).

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterable, AsyncIterator
from datetime import date
from importlib.resources import files
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AfterValidator
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tidemark_gateway import views
from tidemark_gateway.adapters.counter_cache import CounterCache
from tidemark_gateway.adapters.redis_reader import AggregateReader
from tidemark_gateway.domain.dashboard import SummativeDashboard
from tidemark_gateway.domain.pupils import DataCompletion, PupilOverview
from tidemark_gateway.domain.reports import AttainmentOverview, SchoolViewUnavailable
from tidemark_gateway.domain.trends import GapReport, ProgressOverTime
from tidemark_gateway.domain.live import STREAM_ID
from tidemark_gateway.domain.reports import AttainmentReport
from tidemark_gateway.domain.scope import SchoolNotVisible, UnknownSchool
from tidemark_gateway.entrypoints import api_models as api
from tidemark_gateway.entrypoints.params import (
    DEFAULT_SERIES_MEASURE,
    AcademicYear,
    By,
    Filter,
    Gap,
    GapSubject,
    Measure,
    SchoolFilter,
    SeriesBy,
    Category,
    SeriesMeasure,
    StatutoryMeasure,
    View,
)
from tidemark_gateway.settings import GatewaySettings
from tidemark_runtime.auth import principal_dependency
from tidemark_runtime.redis import connect
from tidemark_runtime.settings import Principal
from tidemark_schemas.aggregates import Keyspace
from tidemark_schemas.calendar import PeriodCalendar, PeriodRef

log = logging.getLogger(__name__)

INDEX_HTML = files("tidemark_gateway").joinpath("static/index.html")
RECONNECT_MS = 3000
"""How long a browser waits before reconnecting to /v1/live."""
LIVE_READ_MARGIN_SECONDS = 5.0
"""How much longer than its XREAD block a live stream's Redis read may take before Redis counts as
gone (the stream then ends and the browser reconnects)."""


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    calendar = PeriodCalendar(settings.assessment_periods)
    index_html = INDEX_HTML.read_text(encoding="utf-8")
    authenticate = principal_dependency(lambda: settings.tidemark_tokens, "viewer")
    Caller = Annotated[Principal, Depends(authenticate)]

    def check_period(value: str) -> str:
        if value not in calendar:
            raise ValueError(f"unknown period {value!r}; expected one of {', '.join(calendar.periods)}")
        return value

    Period = Annotated[
        str,
        Query(description="One of the Trust's assessment periods", examples=[calendar.periods[0]],
              json_schema_extra={"enum": list(calendar.periods)}),
        AfterValidator(check_period),
    ]

    async def reader(request: Request, caller: Caller) -> AggregateReader:
        """The caller's Trust's keys only (no request can name another Trust's data), in the
        generation its readers use now."""
        keys = Keyspace(settings.redis_prefix, caller.trust_id)
        return await AggregateReader.of_current_generation(request.app.state.redis, keys, request.app.state.counters)

    Reader = Annotated[AggregateReader, Depends(reader)]

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Report reads keep redis-py's socket timeout (5 s): a read that long means Redis is in
        # trouble. A live stream's XREAD blocks for up to the heartbeat (10 s) by design and would
        # be cut by it, so live streams have their own connections with a longer timeout.
        redis = connect(settings, decode_responses=True)
        live_redis = connect(
            settings, decode_responses=True,
            socket_timeout=settings.live_heartbeat_seconds + LIVE_READ_MARGIN_SECONDS,
        )
        app.state.redis = redis
        app.state.live_redis = live_redis
        app.state.counters = CounterCache(settings.counter_cache_hashes)
        # Everything built at start-up (FastAPI's routes and schemas, pydantic's validators) lives as
        # long as the process: freeze it, so that a full garbage collection does not walk it again
        # in the middle of a request (that cost up to 35 ms a time).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await live_redis.aclose()
            await redis.aclose()

    app = FastAPI(
        title="Tidemark gateway API",
        version="1.0.0",
        description=(
            "Trust dashboards from the live read model. Bearer token of role `viewer`, scoped to one "
            "Trust and optionally to some of its schools: a school-scoped viewer sees only its schools, "
            "and its All Pupils figures are pooled over those schools only. Percentages are unrounded; "
            "round them to one decimal place for display."
        ),
        lifespan=lifespan,
    )

    @app.exception_handler(SchoolNotVisible)
    async def _not_visible(_request: Request, error: SchoolNotVisible) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_403_FORBIDDEN, content={"detail": str(error)})

    @app.exception_handler(UnknownSchool)
    async def _unknown_school(_request: Request, error: UnknownSchool) -> JSONResponse:
        """Shaped like FastAPI's own 422, naming the `school` parameter."""
        detail = [{"type": "value_error", "loc": ["query", "school"], "msg": str(error), "input": error.schools}]
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})

    @app.exception_handler(views.PupilsNotVisible)
    async def _no_pupils(_request: Request, _error: views.PupilsNotVisible) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_403_FORBIDDEN,
                            content={"detail": "this token may not see pupil-level data (see_pupils)"})

    @app.exception_handler(SchoolViewUnavailable)
    async def _no_school_view(_request: Request, error: SchoolViewUnavailable) -> JSONResponse:
        detail = [{"type": "value_error", "loc": ["query", "view"], "msg": str(error), "input": "school"}]
        return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})

    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    async def _redis_down(_request: Request, _error: RedisError) -> JSONResponse:
        return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": "Redis is unavailable"})

    @app.get("/healthz", response_model=api.Health, tags=["operations"],
             responses={503: {"description": "Redis does not answer"}})
    async def health(request: Request) -> api.Health:
        """Ready when Redis answers a PING (the gateway has no other state)."""
        try:
            async with asyncio.timeout(2.0):
                await request.app.state.redis.ping()
        except (RedisError, OSError, TimeoutError) as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Redis does not answer") from error
        return api.Health()

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        """The dashboard page; it reads its token from the URL fragment, which never reaches a server."""
        return HTMLResponse(index_html, headers={"Cache-Control": "no-cache"})

    @app.get("/v1/reports/attainment", response_model=api.AttainmentReport, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def attainment_report(
        caller: Caller, reader: Reader, measure: Measure, by: By, academic_year: AcademicYear, period: Period,
        requested: Filter,
    ) -> AttainmentReport:
        """% of pupils At or Above ARE per group, with the pooled All Pupils row."""
        ref = PeriodRef(academic_year, period)
        return await views.attainment_report(reader, caller, ref, measure, by, requested)

    @app.get("/v1/reports/attainment-overview", response_model=api.AttainmentOverview, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def attainment_overview(
        caller: Caller, reader: Reader, measure: Measure, by: By, academic_year: AcademicYear, period: Period,
        requested: Filter, view: View = "simple",
    ) -> AttainmentOverview:
        """Pupils Below / At / Above ARE per group (counts and % of those assessed), All Pupils pooled;
        in the School view also per code of the schools' shared assessment model."""
        ref = PeriodRef(academic_year, period)
        return await views.attainment_overview(reader, caller, ref, measure, by, requested, view)

    @app.get("/v1/reports/progress-over-time", response_model=api.ProgressOverTime, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def progress_over_time(
        caller: Caller, reader: Reader, academic_year: AcademicYear, requested: Filter,
        by: SeriesBy = "school", measure: SeriesMeasure = DEFAULT_SERIES_MEASURE,
    ) -> ProgressOverTime:
        """% at or above per group for every period of the year and the two before, All Pupils first."""
        return await views.progress_over_time(reader, caller, calendar, academic_year, measure, by, requested)

    @app.get("/v1/reports/gaps", response_model=api.GapReport, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def gaps(
        caller: Caller, reader: Reader, gap: Gap, academic_year: AcademicYear, requested: Filter,
        subject: GapSubject = "rwm",
    ) -> GapReport:
        """Diminishing the Difference: both groups' %, the gap and whether it widened, per period."""
        return await views.gap_report(reader, caller, calendar, academic_year, gap, subject, requested)

    @app.get("/v1/reports/pupil-overview", response_model=api.PupilOverview, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def pupil_overview(
        caller: Caller, reader: Reader, academic_year: AcademicYear, period: Period, requested: Filter,
        by: By = "school",
    ) -> PupilOverview:
        """Pupils with at least one locked result in the period, per group, broken down by characteristic."""
        return await views.pupil_overview(reader, caller, PeriodRef(academic_year, period), by, requested)

    @app.get("/v1/reports/data-completion", response_model=api.DataCompletion, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def data_completion(
        caller: Caller, reader: Reader, academic_year: AcademicYear, period: Period, requested: SchoolFilter
    ) -> DataCompletion:
        """Entered and locked results against the CURRENT roll, per school, year group and subject."""
        return await views.data_completion(reader, caller, PeriodRef(academic_year, period), requested)

    @app.get("/v1/dashboards/summative", response_model=api.SummativeDashboard, tags=["dashboards"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def summative_dashboard(
        caller: Caller, reader: Reader, academic_year: AcademicYear, period: Period, requested: Filter
    ) -> SummativeDashboard:
        """Primary Subjects Overview (reading, writing, maths, RWM) and EYFS Subjects Overview (GLD, All
        Goals) with the change since the previous period (the period before the first of a year is the
        last of the year before); the gender and disadvantaged gaps; Progress Over Time (gld_rwm)."""
        ref = PeriodRef(academic_year, period)
        return await views.summative_dashboard(reader, caller, calendar, ref, requested)

    @app.get("/v1/dashboards/statutory", response_model=api.StatutoryDashboard, tags=["dashboards"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def statutory_dashboard(
        caller: Caller, reader: Reader, academic_year: AcademicYear, requested: Filter
    ) -> views.statutory.StatutoryDashboard:
        """The Statutory Dashboard: KS2 (the widget in full), KS1, EYFS, phonics and MTC headline
        measures for the academic year, pooled over the schools in scope, each with last year's
        figures and the change. Leavers are excluded."""
        return await views.statutory_dashboard(reader, caller, academic_year, requested)

    @app.get("/v1/reports/statutory", response_model=api.StatutoryReport, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see"}})
    async def statutory_report(
        caller: Caller, reader: Reader, measure: StatutoryMeasure, academic_year: AcademicYear, requested: Filter,
        by: By = "school",
    ) -> views.statutory.StatutoryReport:
        """One statutory measure per group (every grouping and filter), All Pupils pooled, with last year's."""
        return await views.statutory_report(reader, caller, academic_year, measure, by, requested)

    @app.get("/v1/reports/progress-from-statutory", response_model=api.ProgressReport, tags=["reports"],
             responses={403: {"description": "A `school` the caller may not see, or pupils=true without the right "
                                             "to see pupils"}})
    async def progress_from_statutory(
        caller: Caller, reader: Reader, academic_year: AcademicYear, period: Period, requested: Filter,
        by: By = "school", category: Category = None,
        pupils: Annotated[bool, Query(description="Also list the pupils (tokens with see_pupils only)")] = False,
    ) -> views.statutory.ProgressReport:
        """Pupils per Level of Progress Made (prior statutory result x current combined RWM band) by
        group; with `category`, that category only (the drill-down); with `pupils=true`, its pupils."""
        ref = PeriodRef(academic_year, period)
        return await views.progress_report(reader, caller, ref, by, category, pupils, requested)

    @app.get("/v1/schools", response_model=list[api.School], tags=["reference"])
    async def schools(caller: Caller, reader: Reader) -> list[views.School]:
        """The schools the caller may see, sorted by name."""
        return await views.visible_schools(reader, caller)

    @app.get("/v1/progress-categories", response_model=list[api.ProgressCategoryOut], tags=["reference"],
             dependencies=[Depends(authenticate)])
    async def progress_categories() -> tuple[views.statutory.Category, ...]:
        """The Levels of Progress Made, in display order, with their labels (the seven categories,
        then not_categorised)."""
        return views.statutory.CATEGORIES

    @app.get("/v1/calendar", response_model=api.CalendarOut, tags=["reference"])
    async def calendar_(caller: Caller, reader: Reader) -> views.CalendarView:
        """Academic years and periods for the period selector, and the period to open on."""
        return await views.calendar_view(reader, caller, calendar, date.today())

    @app.get("/v1/live", response_class=EventSourceResponse, tags=["live"])
    async def live(
        request: Request,
        caller: Caller,
        last_event_id: Annotated[
            str | None,
            Header(pattern=STREAM_ID.pattern, description="Resume after this event id (a Redis stream id)"),
        ] = None,
    ) -> AsyncIterable[ServerSentEvent]:
        """Server-Sent Events: a `change` event (data: `LiveNotice`) whenever figures of the caller's
        schools change, and a comment as heartbeat while nothing does. Resumable with Last-Event-ID.
        The stream stays open however long nothing happens."""
        # The change stream lives outside the generations, so no generation lookup is needed here.
        reader = AggregateReader(request.app.state.live_redis, Keyspace(settings.redis_prefix, caller.trust_id))
        block_ms = int(settings.live_heartbeat_seconds * 1000)
        notices = await views.live_notices(reader, caller, last_event_id, block_ms, settings.live_batch_size)
        yield ServerSentEvent(comment="connected", retry=RECONNECT_MS)
        try:
            async for notice in notices:
                if notice is None:
                    yield ServerSentEvent(comment="heartbeat")
                    continue
                data = api.LiveNotice(academic_year=notice.academic_year, period=notice.period,
                                      measures=list(notice.measures), schools=list(notice.schools))
                yield ServerSentEvent(id=notice.id, event="change", data=data)
        except RedisError as error:
            # Redis went away mid-stream: end the stream; the browser reconnects with Last-Event-ID.
            log.warning("live stream ended: Redis is unavailable (%s)", error)

    return app
