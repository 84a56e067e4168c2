"""Kafka topic names (domain.name.version), their dead-letter twins, and the message key."""

from __future__ import annotations

SCHOOLS = "tracker.schools.v1"
PUPILS = "tracker.pupils.v1"
ASSESSMENTS = "tracker.assessments.v1"
STATUTORY = "tracker.statutory.v1"
ATTENDANCE = "tracker.attendance.v1"
ATTAINMENT_CHANGES = "attainment.changes.v1"
ATTAINMENT_PROGRESS = "attainment.progress.v1"

BROKER_INCARNATION = "tidemark.broker-incarnation.v1"
"""One partition whose first record names the broker's current life: a broker that comes back
without its topics has a new one (`tidemark_runtime.kafka.broker_incarnation`)."""

DLT_SUFFIX = ".dlt"

TRACKER_TOPICS: tuple[str, ...] = (SCHOOLS, PUPILS, ASSESSMENTS, STATUTORY, ATTENDANCE)
PUBLIC_TOPICS: tuple[str, ...] = (ATTAINMENT_CHANGES, ATTAINMENT_PROGRESS)


def dead_letter(topic: str) -> str:
    return topic + DLT_SUFFIX


def all_topics() -> tuple[str, ...]:
    """Every topic the platform uses, created at start-up (the embedded broker never auto-creates)."""
    base = TRACKER_TOPICS + PUBLIC_TOPICS
    return base + tuple(dead_letter(t) for t in base)


def event_key(entity_id: str) -> bytes:
    """Key = pupil id (or school id for school events): one entity's events stay in order."""
    return entity_id.encode()
