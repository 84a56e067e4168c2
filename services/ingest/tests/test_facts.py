"""How requests change facts: idempotent re-sends, versions, locks, corrections and unlocks."""

from tidemark_ingest.domain.facts import enter_result, lock_result, unlock_result, upsert_pupil
from tidemark_schemas.records import AssessmentRecord, PupilRecord

ROW = dict(
    pupil_id="P1", school_id="S1", academic_year="2025/26", period="AUT1", year_group="Y3", subject="reading", band="AT"
)
PUPIL = dict(
    pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False, sen="N",
    eal=False, ethnicity="WBRI", left_on=None,
)



def enter(existing, record: AssessmentRecord):
    return enter_result(existing, record, record.band)


def test_a_new_result_is_a_draft_at_version_one():
    state = enter(None, AssessmentRecord(**ROW))
    assert (state.entered_band, state.locked_band, state.version) == ("AT", None, 1)


def test_re_entering_the_same_value_changes_nothing():
    state = enter(None, AssessmentRecord(**ROW))
    assert enter(state, AssessmentRecord(**ROW)) is None


def test_lock_makes_the_draft_count_and_a_second_lock_is_a_no_op():
    locked = lock_result(enter(None, AssessmentRecord(**ROW)))
    assert (locked.locked_band, locked.version) == ("AT", 2)
    assert lock_result(locked) is None


def test_editing_a_locked_result_changes_only_the_draft_until_relocked():
    locked = lock_result(enter(None, AssessmentRecord(**ROW)))
    edited = enter(locked, AssessmentRecord(**{**ROW, "band": "ABOVE"}))
    assert (edited.entered_band, edited.locked_band, edited.version) == ("ABOVE", "AT", 3)
    corrected = lock_result(edited)
    assert (corrected.locked_band, corrected.version) == ("ABOVE", 4)


def test_unlock_withdraws_the_value_and_keeps_the_draft():
    locked = lock_result(enter(None, AssessmentRecord(**ROW)))
    unlocked = unlock_result(locked)
    assert (unlocked.entered_band, unlocked.locked_band, unlocked.version) == ("AT", None, 3)
    assert unlock_result(unlocked) is None


def test_reposting_a_pupil_updates_only_when_something_changed():
    first = upsert_pupil(None, PupilRecord(**PUPIL))
    assert upsert_pupil(first, PupilRecord(**PUPIL)) is None
    moved = upsert_pupil(first, PupilRecord(**{**PUPIL, "school_id": "S2", "fsm6": True}))
    assert (moved.school_id, moved.fsm6, moved.version) == ("S2", True, 2)
