"""School dates: the English default half-terms, periods that cover the year, weeks and weekends,
and the leaver rule that reads its start dates from the same calendar."""

from datetime import date, timedelta

import pytest

from tidemark_schemas.calendar import (
    HALF_TERMS,
    TERMS,
    PeriodCalendar,
    PeriodRef,
    TermTime,
    YearDates,
    easter_sunday,
    english_default,
    is_weekend,
    week_of,
    year_dates_errors,
)
from tidemark_schemas.records import CalendarRecord
from tidemark_schemas.rules import on_roll_during

D = date


def test_the_english_default_of_2025_26_has_the_usual_half_terms():
    dates = english_default("2025/26")
    assert [(t.first_day, t.last_day) for t in dates.half_terms] == [
        (D(2025, 9, 3), D(2025, 10, 24)),  # October half-term 27-31 October
        (D(2025, 11, 3), D(2025, 12, 19)),
        (D(2026, 1, 5), D(2026, 2, 13)),  # February half-term 16-20 February
        (D(2026, 2, 23), D(2026, 3, 27)),  # Easter holiday 30 March - 10 April (Good Friday 3 April)
        (D(2026, 4, 13), D(2026, 5, 22)),  # May half-term 25-29 May
        (D(2026, 6, 1), D(2026, 7, 22)),
    ]
    assert dates.closures == frozenset({D(2026, 5, 4)})  # early May bank holiday


def test_easter_moves_the_spring_and_summer_half_terms():
    assert [easter_sunday(y) for y in (2024, 2025, 2026)] == [D(2024, 3, 31), D(2025, 4, 20), D(2026, 4, 5)]
    assert english_default("2023/24").term_time("SPR2").last_day == D(2024, 3, 22)
    assert english_default("2024/25").term_time("SUM1").first_day == D(2025, 4, 28)


@pytest.mark.parametrize("year", ["2023/24", "2024/25", "2025/26", "2026/27"])
def test_the_default_gives_190_pupil_days_and_5_inset_days_of_term(year):
    calendar = PeriodCalendar()
    assert sum(len(calendar.school_days(PeriodRef(year, p))) for p in HALF_TERMS) == 195


@pytest.mark.parametrize("periods", [HALF_TERMS, TERMS])
def test_every_day_of_the_year_falls_in_exactly_one_period_in_order(periods):
    calendar = PeriodCalendar(periods)
    day, seen = D(2025, 9, 1), []
    while day <= D(2026, 8, 31):
        ref = calendar.period_of(day)
        start, end = calendar.span(ref)
        assert start <= day <= end and ref.academic_year == "2025/26"
        if not seen or seen[-1] != ref.period:
            seen.append(ref.period)
        day += timedelta(days=1)
    assert tuple(seen) == periods


def test_a_period_starts_the_day_after_the_previous_ends_so_a_holiday_leads_into_the_next():
    calendar = PeriodCalendar()
    assert calendar.period_of(D(2025, 12, 19)) == PeriodRef("2025/26", "AUT2")  # the last day of term
    assert calendar.period_of(D(2025, 12, 20)) == PeriodRef("2025/26", "SPR1")
    assert calendar.span(PeriodRef("2025/26", "AUT1")) == (D(2025, 9, 1), D(2025, 10, 24))
    assert calendar.span(PeriodRef("2025/26", "SUM2")) == (D(2026, 5, 23), D(2026, 8, 31))
    assert PeriodCalendar(TERMS).span(PeriodRef("2025/26", "SPR")) == (D(2025, 12, 20), D(2026, 3, 27))
    assert PeriodCalendar(TERMS).term_time(PeriodRef("2025/26", "SPR")) == TermTime(D(2026, 1, 5), D(2026, 3, 27))


def test_leavers_use_the_same_start_dates():
    spring = PeriodRef("2025/26", "SPR1")
    assert PeriodCalendar.start_date(spring) == PeriodCalendar().span(spring)[0] == D(2025, 12, 20)
    assert on_roll_during(D(2025, 12, 20), spring)
    assert not on_roll_during(D(2025, 12, 19), spring)


def test_weeks_run_monday_to_friday_named_by_their_monday():
    assert week_of(D(2025, 9, 3)) == week_of(D(2025, 9, 1)) == week_of(D(2025, 9, 5)) == "2025-09-01"
    assert week_of(D(2025, 9, 8)) == "2025-09-08"
    assert [is_weekend(D(2025, 9, d)) for d in range(5, 9)] == [False, True, True, False]


def test_a_trust_sets_its_own_dates_and_nonsense_is_refused():
    default = english_default("2025/26")
    own = YearDates("2025/26", (TermTime(D(2025, 9, 4), D(2025, 10, 17)), *default.half_terms[1:]))
    calendar = PeriodCalendar(dates={"2025/26": own})
    assert calendar.period_of(D(2025, 10, 20)) == PeriodRef("2025/26", "AUT2")  # default: still AUT1
    assert PeriodCalendar().period_of(D(2025, 10, 20)) == PeriodRef("2025/26", "AUT1")
    assert calendar.dates("2024/25") == english_default("2024/25")
    with pytest.raises(ValueError, match="AUT2 must start after the half-term before it ends"):
        YearDates("2025/26", (TermTime(D(2025, 9, 4), D(2025, 11, 7)), *default.half_terms[1:]))
    with pytest.raises(ValueError, match="AUT1 must start and end on a weekday"):
        YearDates("2025/26", (TermTime(D(2025, 9, 6), D(2025, 10, 17)), *default.half_terms[1:]))
    with pytest.raises(ValueError, match="expected the six half-terms"):
        YearDates("2025/26", default.half_terms[:3])


def test_assessment_periods_are_the_half_terms_or_the_terms():
    with pytest.raises(ValueError):
        PeriodCalendar(("AUT1", "SPR1"))
    with pytest.raises(ValueError):
        PeriodCalendar(("SPR", "AUT", "SUM"))
    with pytest.raises(ValueError):
        PeriodCalendar(("WINTER",))


def test_each_problem_of_a_trusts_dates_names_its_field():
    default = english_default("2025/26")
    terms = (TermTime(D(2025, 9, 6), D(2025, 9, 1)), *default.half_terms[1:])
    assert year_dates_errors("2025/26", terms, {D(2025, 10, 25), D(2025, 10, 28), D(2025, 11, 4)}) == [
        ("half_terms.AUT1.last_day", "AUT1 ends before it starts"),
        ("half_terms.AUT1.first_day", "AUT1 must start and end on a weekday (2025-09-06 is a Saturday)"),
        ("closures", "2025-10-25 is a Saturday: a closure is a weekday in term time"),
        ("closures", "2025-10-28 is not in term time of 2025/26"),
    ]
    assert year_dates_errors("2025/26", default.half_terms, default.closures) == []


@pytest.mark.parametrize("year", ["2023/24", "2024/25", "2025/26", "2026/27"])
def test_the_english_default_shown_as_a_trusts_record_is_the_same_dates(year):
    record = CalendarRecord.of(english_default(year))
    assert record.errors(year) == []
    assert record.year_dates(year) == english_default(year)
