"""The metrics process hosts two projections, each run by the shared engine as its own consumer
group: the attainment aggregates (`domain/projection.py`, group `tidemark-metrics`, over the
school, pupil and assessment topics, announcing every change of the figures on the public
`attainment.changes.v1`) and attendance (`domain/attendance.py`, group `tidemark-attendance`, over
the pupil, attendance and assessment topics: attainment beside attendance needs both in one
pupil part; a Trust's own dates arrive on the pupils topic and re-date its attendance,
`adapters/attendance_engine.py`; announcing on the change stream only)."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from tidemark_metrics.adapters.attendance_engine import AttendanceEngine
from tidemark_metrics.domain.attendance import AttendanceProjection
from tidemark_metrics.domain.projection import METRICS
from tidemark_metrics.settings import MetricsSettings
from tidemark_runtime.projections.engine import BatchResult
from tidemark_runtime.projections.service import ProjectionService, Publication
from tidemark_schemas import topics
from tidemark_schemas.calendar import PeriodCalendar
from tidemark_schemas.events import AttainmentChanged


def announcements(result: BatchResult) -> Iterator[tuple[bytes, BaseModel]]:
    """One public notice per changed Trust period, keyed by its own Trust."""
    for notice in result.notices:
        yield notice.trust_id.encode(), AttainmentChanged(
            trust_id=notice.trust_id,
            academic_year=notice.academic_year,
            period=notice.period,
            measures=list(notice.measures),
            schools=list(notice.schools),
            applied_events=result.applied,
        )


SERVICE = ProjectionService(
    rules=METRICS,
    title="Tidemark metrics",
    topics=(topics.SCHOOLS, topics.PUPILS, topics.ASSESSMENTS),
    publication=Publication(
        topics.ATTAINMENT_CHANGES,
        AttainmentChanged,
        "Public notice: figures of one Trust period changed (keyed by Trust id).",
        announcements,
    ),
    settings=MetricsSettings,
    description="Applies school, pupil and assessment events to the Redis aggregates.",
)

ATTENDANCE = AttendanceProjection(PeriodCalendar(MetricsSettings().assessment_periods))
"""Attendance by the Trust's assessment periods (`ASSESSMENT_PERIODS`), dated by the English
default calendar until a Trust sets its own (`AttendanceEngine` dates each generation by them)."""

ATTENDANCE_SERVICE = ProjectionService(
    rules=ATTENDANCE,
    title="Tidemark attendance",
    topics=(topics.PUPILS, topics.ATTENDANCE, topics.ASSESSMENTS),
    publication=None,
    settings=MetricsSettings,
    description="Applies pupils, register marks and summative results to the attendance counters (per week, period and year to date) and to attainment by attendance band.",
    consumer_group="tidemark-attendance",
    engine=AttendanceEngine,
)

SERVICES = (SERVICE, ATTENDANCE_SERVICE)
"""What the metrics process runs; `SERVICE` names it."""
