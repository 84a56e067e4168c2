"""One definition per shape: a fact's stored state is the snapshot its events carry, and each table
holds exactly that state's fields (and the Trust), so a field added to the contract that the store
does not keep (or a column the contract does not know) fails here rather than in production."""

from __future__ import annotations

from tidemark_ingest.adapters.calendar_store import TRUST_CALENDAR
from tidemark_ingest.adapters.store import ASSESSMENT, CLASS, PUPIL, SCHOOL, STATUTORY
from tidemark_ingest.domain.facts import ClassState, PupilState, ResultState, SchoolState, StatutoryState
from tidemark_schemas.events import (
    AssessmentLocked,
    CalendarSnapshot,
    ClassUpserted,
    Envelope,
    PupilUpserted,
    SchoolUpserted,
    StatutoryLocked,
    TrustCalendarSet,
)
from tidemark_schemas.records import CalendarRecord, ClassRecord, PupilRecord, SchoolRecord

ENVELOPE = {*Envelope.model_fields, "event_type"}


def test_a_stored_school_class_and_pupil_are_the_trackers_record_and_a_version():
    """A pupil's record names their class of one year (`class_id`); the stored pupil keeps every
    year's (`classes`)."""
    assert set(SchoolState.model_fields) == {*SchoolRecord.model_fields, "version"}
    assert set(ClassState.model_fields) == {*ClassRecord.model_fields, "version"}
    assert set(PupilState.model_fields) == {*PupilRecord.model_fields, "version", "classes"} - {"class_id"}


def test_each_event_is_the_envelope_and_the_stored_state_and_nothing_else():
    """A lock's event also names who locked (`actor_id`, for subscribers and the audit trail)."""
    for event, state, extra in (
        (SchoolUpserted, SchoolState, set()),
        (ClassUpserted, ClassState, set()),
        (PupilUpserted, PupilState, set()),
        (AssessmentLocked, ResultState, {"actor_id"}),
        (StatutoryLocked, StatutoryState, {"actor_id"}),
    ):
        assert set(event.model_fields) == ENVELOPE | set(state.model_fields) | extra, event.__name__
        assert issubclass(event, state), f"{event.__name__} retypes its state's fields"


def test_each_table_holds_its_states_fields_and_the_trust():
    for table, state in ((SCHOOL, SchoolState), (CLASS, ClassState), (PUPIL, PupilState), (ASSESSMENT, ResultState)):
        assert set(table.columns.keys()) == {"trust_id", *state.model_fields}, table.name


def test_the_statutory_table_holds_each_value_as_its_three_parts():
    parts = {f"{side}_{part}" for side in ("entered", "locked") for part in ("mark", "scaled_score", "code")}
    fields = set(StatutoryState.model_fields) - {"entered", "locked"}

    assert set(STATUTORY.columns.keys()) == {"trust_id", *fields, *parts}


def test_a_trusts_dates_are_the_record_it_sets_with_the_year_and_a_version_in_one_column():
    """The half-terms and closures are one JSON column (`dates`): the record is read back whole."""
    assert set(CalendarSnapshot.model_fields) == {*CalendarRecord.model_fields, "academic_year", "version"}
    assert set(TrustCalendarSet.model_fields) == ENVELOPE | set(CalendarSnapshot.model_fields)
    assert issubclass(TrustCalendarSet, CalendarSnapshot)
    assert set(TRUST_CALENDAR.columns.keys()) == {"trust_id", "academic_year", "version", "dates"}
