"""What ingest's routes depend on, as `Annotated` aliases: the use cases built at start-up, and who
may call them (the permission of a tracker route; the shared secret of the replay).

Every dependency is a coroutine, though none waits: FastAPI runs a plain function in a worker
thread, which costs far more.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from tidemark_ingest.bootstrap import Services
from tidemark_ingest.service_layer.attendance import Attendance
from tidemark_ingest.service_layer.entry import Entry
from tidemark_ingest.service_layer.replay import Replay
from tidemark_ingest.service_layer.tracker import Tracker
from tidemark_runtime.auth import BearerCredentials, Permission, check_secret, require
from tidemark_runtime.settings import Principal

# -- ingest built by `bootstrap` ------------------------------------------------------------------


async def services(request: Request) -> Services:
    """The use cases the app's lifespan built (`bootstrap`)."""
    built: Services = request.app.state.services
    return built


ServicesDep = Annotated[Services, Depends(services)]


async def tracker(built: ServicesDep) -> Tracker:
    return built.tracker


async def replay(built: ServicesDep) -> Replay:
    return built.replay


async def attendance(built: ServicesDep) -> Attendance:
    return built.attendance


async def entry(built: ServicesDep) -> Entry:
    return built.entry


TrackerDep = Annotated[Tracker, Depends(tracker)]
EntryDep = Annotated[Entry, Depends(entry)]
AttendanceDep = Annotated[Attendance, Depends(attendance)]
ReplayDep = Annotated[Replay, Depends(replay)]

# -- who may call --------------------------------------------------------------------------------

TrackerWriter = Annotated[Principal, Depends(require(Permission.WRITE_TRACKER))]
"""A caller that may send tracker data (`Permission.WRITE_TRACKER`): its Trust is the one written."""


async def replay_access(built: ServicesDep, credentials: BearerCredentials) -> None:
    """Only the bearer of the replay token (`REPLAY_TOKEN`, a service's secret, not a person's) may
    read the replay: 401 otherwise, and always when no replay token is configured."""
    check_secret(credentials, built.replay_token, "replay token")
