"""What the gateway's routes depend on, as `Annotated` aliases: the use cases built at start-up, the
caller and the permission each route needs, and the parameters that depend on the configuration.

The query parameters that depend on nothing are in `params`. Every dependency is a coroutine,
though none waits: FastAPI runs a plain function in a worker thread, which costs far more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError

from tidemark_gateway.bootstrap import Services
from tidemark_gateway.entrypoints.answers import not_kept
from tidemark_gateway.service_layer.answers import Answers
from tidemark_gateway.service_layer.dashboards import Dashboards
from tidemark_gateway.service_layer.live import LiveUpdates
from tidemark_gateway.service_layer.reference import Reference
from tidemark_gateway.service_layer.reports import Reports
from tidemark_identity.domain.audit import Action
from tidemark_runtime.auth import Permission, Requirement, authorize, declares, require
from tidemark_runtime.settings import Principal

# -- the gateway built by `bootstrap` -----------------------------------------------------------


async def services(request: Request) -> Services:
    """The use cases the app's lifespan built (`bootstrap`)."""
    built: Services = request.app.state.services
    return built


ServicesDep = Annotated[Services, Depends(services)]


async def reports(built: ServicesDep) -> Reports:
    return built.reports


async def dashboards(built: ServicesDep) -> Dashboards:
    return built.dashboards


async def reference(built: ServicesDep) -> Reference:
    return built.reference


async def live_updates(built: ServicesDep) -> LiveUpdates:
    return built.live


async def answers(built: ServicesDep) -> Answers:
    return built.answers


ReportsDep = Annotated[Reports, Depends(reports)]
DashboardsDep = Annotated[Dashboards, Depends(dashboards)]
ReferenceDep = Annotated[Reference, Depends(reference)]
LiveDep = Annotated[LiveUpdates, Depends(live_updates)]
AnswersDep = Annotated[Answers, Depends(answers)]

# -- who may do what -----------------------------------------------------------------------------

FiguresReader = Annotated[Principal, Depends(require(Permission.READ_FIGURES))]
"""A caller that may read figures (`Permission.READ_FIGURES`)."""


@declares(Requirement(Permission.READ_PUPILS, when="`pupils=true`"))
async def pupil_list(
    caller: FiguresReader,
    built: ServicesDep,
    request: Request,
    pupils: Annotated[bool, Query(description="Also list the pupils (callers with `pupils:read` only)")] = False,
) -> AsyncIterator[bool]:
    """Whether to list pupils: asking for them needs `Permission.READ_PUPILS` (403 otherwise). Each
    list answered is recorded in the audit trail (who, which list), once the route has answered
    it: a refused request (a school the caller may not see) lists nobody."""
    if pupils:
        authorize(caller, Permission.READ_PUPILS)
        not_kept()  # every list answered is audited, so none is answered from memory
    yield pupils
    if pupils and built.identity is not None:
        await built.identity.record(
            caller, Action.PUPIL_LIST, request.query_params.get("school"), path=request.url.path,
            query=str(request.query_params),
        )


PupilList = Annotated[bool, Depends(pupil_list)]

# -- the period, one of the configured calendar's ------------------------------------------------

PERIOD_EXAMPLE = "AUT1"


async def configured_period(
    built: ServicesDep,
    period: Annotated[str, Query(description="One of the Trust's assessment periods", examples=[PERIOD_EXAMPLE])],
) -> str:
    """The `period` parameter: one of the periods of `ASSESSMENT_PERIODS` (the OpenAPI lists them:
    `document_periods`). Checked here rather than by a validator, since the calendar is configuration;
    a bad period is therefore reported alone, before the other parameters are checked."""
    if period not in built.calendar:
        message = f"unknown period {period!r}; expected one of {', '.join(built.calendar.periods)}"
        raise RequestValidationError([{
            "type": "value_error", "loc": ("query", "period"), "msg": f"Value error, {message}", "input": period,
            "ctx": {"error": ValueError(message)},
        }])
    return period


Period = Annotated[str, Depends(configured_period)]


def document_periods(app: FastAPI, periods: Sequence[str]) -> Callable[[], dict[str, Any]]:
    """`app.openapi` with the configured periods as the enum (and first example) of every `period`
    query parameter."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                for parameter in operation.get("parameters", []):
                    if (parameter["in"], parameter["name"]) == ("query", "period"):
                        parameter["schema"] = {**parameter["schema"], "enum": list(periods), "examples": [periods[0]]}
        return app.openapi_schema or generate()

    return openapi
