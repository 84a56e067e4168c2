"""Which counters a pupil counts in, and how every kind of change retracts and re-adds exactly
(the metrics rules run by the engine's pure step, `tidemark_runtime.projections.state`)."""

from datetime import date

from tidemark_metrics.domain.contributions import parse_contribution
from tidemark_metrics.domain.projection import METRICS, ROLL_PART
from tidemark_runtime.projections.rules import delta
from tidemark_runtime.projections.state import PupilRecord, advance, decode_record, encode_record, fold
from tidemark_schemas.aggregates import SLOT_FIELD_PREFIX, split_slot
from tidemark_schemas.events import AssessmentLocked, AssessmentUnlocked, PupilUpserted

PUPIL = dict(
    trust_id="T", pupil_id="P1", school_id="S1", year_group="Y3", sex="F", fsm6=False, lac=False, plac=False,
    sen="N", eal=False, ethnicity="WBRI", left_on=None, version=1,
)


def locked(subject: str, band: str, version: int = 2, **extra) -> AssessmentLocked:
    fields = dict(
        trust_id="T", pupil_id="P1", school_id="S1", academic_year="2025/26", period="SPR1", year_group="Y3",
        subject=subject, entered_band=band, locked_band=band, version=version,
    )
    return AssessmentLocked(**{**fields, **extra})


def run(*events) -> PupilRecord:
    return fold(METRICS, events)


def applied(record: PupilRecord, event) -> bool:
    """Whether the event is newer than what the record holds."""
    part = METRICS.route(event)[1] if not isinstance(event, PupilUpserted) else None
    return advance(METRICS, "T", "P1", record, [(part, event)]).applied == 1


def every_contribution(record: PupilRecord) -> frozenset[str]:
    """Part and contribution joined."""
    return frozenset(f"{name}|{item}" for name, part in record.parts.items() for item in part.contributions)


def parts(record: PupilRecord) -> list[tuple[str, str, str, str, str]]:
    """(year, period, measure, school, field) of every contribution; the roll under ("-", "-")."""
    found = []
    for name, part in record.parts.items():
        year, period = ("-", "-") if name == ROLL_PART else split_slot(name.removeprefix(SLOT_FIELD_PREFIX))
        found += [(year, period, *parse_contribution(item)) for item in part.contributions]
    return found


def measures(record: PupilRecord) -> dict[str, str]:
    """Attainment measures only (not presence, drafts or the roll)."""
    return {
        measure: field.rsplit("|", 1)[1]
        for (_y, _p, measure, _s, field) in parts(record)
        if measure not in ("pupils", "roll") and not measure.startswith("entered.")
    }


def test_three_locked_core_subjects_add_a_combined_rwm_contribution():
    state = run(PupilUpserted(**PUPIL), locked("reading", "ABOVE"), locked("writing", "AT"), locked("maths", "ABOVE"))
    assert measures(state) == {"reading": "ABOVE", "writing": "AT", "maths": "ABOVE", "rwm": "AT"}


def test_a_reception_child_above_in_every_goal_counts_above_in_gld_and_all_goals():
    reception = {**PUPIL, "year_group": "R"}
    goals = [f"E{n:02d}" for n in range(1, 18)]
    above = run(PupilUpserted(**reception), *(locked(g, "ABOVE", year_group="R") for g in goals))
    assert (measures(above)["gld"], measures(above)["all_goals"]) == ("ABOVE", "ABOVE")
    gld_only = run(PupilUpserted(**reception), *(locked(g, "ABOVE" if g <= "E12" else "AT", year_group="R") for g in goals))
    assert (measures(gld_only)["gld"], measures(gld_only)["all_goals"]) == ("ABOVE", "AT")


def test_results_without_the_pupil_record_count_nowhere_until_it_arrives():
    state = run(locked("reading", "AT"))
    assert every_contribution(state) == frozenset()
    assert measures(run(locked("reading", "AT"), PupilUpserted(**PUPIL))) == {"reading": "AT"}


def test_a_stale_or_repeated_version_is_a_no_op():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", version=3))
    assert not applied(state, locked("reading", "BELOW", version=3))
    assert not applied(state, locked("reading", "BELOW", version=2))
    assert not applied(state, PupilUpserted(**{**PUPIL, "sex": "M"}))
    assert applied(state, locked("reading", "BELOW", version=4))


def test_a_correction_moves_the_pupil_from_one_band_to_another():
    before = run(PupilUpserted(**PUPIL), locked("reading", "AT", version=2))
    after = run(PupilUpserted(**PUPIL), locked("reading", "AT", version=2), locked("reading", "BELOW", version=4))
    change = delta(every_contribution(before), every_contribution(after))
    assert sorted(change.values()) == [-1, -1, 1, 1]  # reading and its draft both move band
    assert measures(after) == {"reading": "BELOW"}


def test_an_unlock_withdraws_the_result_and_the_combined_measure():
    unlock = AssessmentUnlocked(**{**locked("maths", "AT", version=3).model_dump(), "event_type": "assessment-unlocked",
                                   "locked_band": None})
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT"), locked("writing", "AT"), locked("maths", "AT"), unlock)
    assert measures(state) == {"reading": "AT", "writing": "AT"}


def test_a_characteristic_change_moves_every_contribution_to_the_new_group():
    before = run(PupilUpserted(**PUPIL), locked("reading", "AT"))
    after = run(PupilUpserted(**PUPIL), locked("reading", "AT"), PupilUpserted(**{**PUPIL, "fsm6": True, "version": 2}))
    [(_, _, _, _, old_field)] = [p for p in parts(before) if p[2] == "reading"]
    [(_, _, _, _, new_field)] = [p for p in parts(after) if p[2] == "reading"]
    assert old_field.split("|")[2] == "0" and new_field.split("|")[2] == "1"


def test_a_leaver_keeps_counting_only_in_periods_that_started_before_leaving():
    left_at_christmas = PupilUpserted(**{**PUPIL, "left_on": date(2025, 12, 19), "version": 2})
    autumn = locked("reading", "AT", period="AUT2")
    spring = locked("reading", "AT", period="SPR1")
    state = run(PupilUpserted(**PUPIL), autumn, spring, left_at_christmas)
    assert {period for (_y, period, measure, *_rest) in parts(state) if measure != "roll"} == {"AUT2"}


def test_a_result_is_counted_at_the_school_recorded_on_it():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", school_id="S2"))
    assert {school for (_y, _p, measure, school, _f) in parts(state) if measure != "roll"} == {"S2"}


def test_state_survives_its_stored_form():
    state = run(PupilUpserted(**{**PUPIL, "left_on": date(2026, 7, 20)}), locked("reading", "AT"),
                locked("E01", "AT", year_group="R", period="AUT1"), locked("writing", "AT", locked_code="JA"))
    assert decode_record(METRICS, encode_record(METRICS, state)) == state


def test_a_lock_recomputes_and_writes_only_its_own_slot():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", period="AUT1"))
    lock = locked("reading", "BELOW", version=3, period="SPR1")
    step = advance(METRICS, "T", "P1", state, [(METRICS.route(lock)[1], lock)])
    assert set(step.fields) == {"s:2025/26|SPR1"}
    assert step.after.parts["s:2025/26|AUT1"] is state.parts["s:2025/26|AUT1"]
    assert {measure for (_y, p, measure, _s, _f) in parts(step.after) if p == "SPR1"} == {
        "reading", "entered.reading", "pupils"}


def test_a_characteristic_change_rewrites_every_part_whose_contributions_move():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", period="AUT1"), locked("reading", "AT", period="SPR1"))
    change = PupilUpserted(**{**PUPIL, "eal": True, "version": 2})
    step = advance(METRICS, "T", "P1", state, [(None, change)])
    assert set(step.fields) == {"c", "roll", "s:2025/26|AUT1", "s:2025/26|SPR1"}
    assert sorted(step.moves.values()) == [-1] * 7 + [1] * 7  # roll + 2 x (reading, draft, presence) move cell


def test_a_model_code_is_counted_beside_the_band():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", locked_code="SA", entered_code="SA"))
    codes = {(measure, field.rsplit("|", 1)[1]) for (_y, _p, measure, _s, field) in parts(state) if "." in measure}
    assert codes == {("model.reading", "SA"), ("entered.reading", "AT")}


def test_presence_drafts_and_the_roll_are_counted_for_overview_and_completion():
    draft = locked("writing", "BELOW").model_copy(update={"locked_band": None, "event_type": "assessment-entered"})
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT"), draft)
    other = {(measure, field.rsplit("|", 1)[1]) for (_y, _p, measure, _s, field) in parts(state)}
    assert other == {
        ("reading", "AT"), ("pupils", "AT"), ("entered.reading", "AT"), ("entered.writing", "BELOW"), ("roll", "AT"),
    }


def test_the_roll_uses_the_current_school_and_year_group_and_drops_leavers():
    state = run(PupilUpserted(**{**PUPIL, "school_id": "S9", "year_group": "Y5"}))
    [roll] = parts(state)
    assert (roll[2], roll[3], roll[4].split("|")[0]) == ("roll", "S9", "Y5")
    assert parts(run(PupilUpserted(**{**PUPIL, "left_on": date(2026, 1, 5)}))) == []


def step_of(record: PupilRecord, event, max_jump: int = 100):  # type: ignore[no-untyped-def]
    part = METRICS.route(event)[1] if not isinstance(event, PupilUpserted) else None
    return advance(METRICS, "T", "P1", record, [(part, event)], max_jump)


def test_an_event_further_ahead_of_its_facts_version_than_the_limit_is_refused_and_changes_nothing():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", version=3))
    forged = step_of(state, locked("reading", "BELOW", version=999))
    assert (forged.applied, forged.moves, forged.fields) == (0, {}, {})
    [refusal] = forged.refused
    assert (refusal.event.version, refusal.stored_version, refusal.max_jump) == (999, 3, 100)
    assert "999 is 996 ahead of the stored version 3" in refusal.reason
    assert step_of(state, locked("reading", "BELOW", version=103)).applied == 1  # exactly the limit ahead
    assert step_of(state, locked("reading", "BELOW", version=104)).refused


def test_the_characteristics_version_is_guarded_too_and_a_fact_not_stored_yet_is_not():
    state = run(PupilUpserted(**PUPIL))
    assert step_of(state, PupilUpserted(**{**PUPIL, "sex": "M", "version": 500})).refused
    assert step_of(state, locked("maths", "AT", version=500)).applied == 1  # no maths result stored: nothing to compare
    assert step_of(PupilRecord(), PupilUpserted(**{**PUPIL, "version": 500})).applied == 1


def test_without_a_limit_any_newer_version_applies():
    state = run(PupilUpserted(**PUPIL), locked("reading", "AT", version=3))
    forged = locked("reading", "BELOW", version=999)
    step = advance(METRICS, "T", "P1", state, [(METRICS.route(forged)[1], forged)])
    assert (step.applied, step.refused) == (1, [])
