"""Small groups: fewer pupils than SMALL_GROUP_THRESHOLD (default 5) are flagged on every row with a
%; the hook for roles that may not see their figures withholds them (in the JSON and its exports)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tidemark_gateway.domain.reports import ReportRow
from tidemark_gateway.domain.small_groups import WITHHELD, is_small, mark_small_groups
from tidemark_gateway.domain.statutory import StatutoryFigures, national_figures
from tidemark_gateway.domain.trends import Figure, GapPoint
from tidemark_gateway.service_layer import small_groups
from tidemark_gateway.settings import GatewaySettings
from tidemark_gateway.testing import Gateway, cell, gateway_settings, in_process
from tidemark_runtime.auth import Permission
from tidemark_schemas.statutory_national import NationalGroup
from tidemark_schemas.vocabulary import Sex

YEAR, PERIOD = "2025/26", "AUT1"
REPORT = {"measure": "reading", "by": "sex", "academic_year": YEAR, "period": PERIOD}


def test_a_small_group_has_one_pupil_to_one_fewer_than_the_threshold() -> None:
    assert [is_small(pupils, 5) for pupils in (0, 1, 4, 5, 6)] == [False, True, True, False, False]


def test_rows_are_flagged_however_deep_and_withholding_nulls_only_the_small_ones_floats() -> None:
    point = GapPoint(YEAR, PERIOD, Figure(4, 3, 75.0), Figure(10, 5, 50.0), 25.0, None, None, "–", "none", None)
    rows = [ReportRow("S1", "Oak", 4, 3, 75.0), ReportRow("S2", "Ash", 5, 1, 20.0)]

    flagged = mark_small_groups({"series": [point], "rows": rows}, 5)
    withheld = mark_small_groups(rows, 5, withhold=True)

    assert (flagged["series"][0].first.small_group, flagged["series"][0].second.small_group) == (True, False)
    assert [row.small_group for row in flagged["rows"]] == [True, False]
    assert withheld == [ReportRow("S1", "Oak", 4, 3, None, True), ReportRow("S2", "Ash", 5, 1, 20.0, False)]


async def seed_four_girls_and_six_boys(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=3, below=1)
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", cell(sex=Sex.M), at=3, below=3)


async def test_a_group_under_the_default_threshold_of_5_is_flagged_with_its_pct_kept(gateway: Gateway) -> None:
    await seed_four_girls_and_six_boys(gateway)

    body = (await gateway.get("/v1/reports/attainment", **REPORT)).json()

    assert [(r["label"], r["n"], r["pct"], r["small_group"]) for r in body["rows"]] == [
        ("Female", 4, 75.0, True), ("Male", 6, 50.0, False)
    ]
    assert body["all_pupils"]["small_group"] is False


@pytest.fixture
async def threshold_7(redis_url: str, redis: Redis, prefix: str) -> AsyncIterator[Gateway]:
    async with in_process(gateway_settings(redis_url, prefix, small_group_threshold=7), redis) as running:
        yield running


async def test_the_trust_sets_its_threshold(threshold_7: Gateway) -> None:
    await seed_four_girls_and_six_boys(threshold_7)

    body = (await threshold_7.get("/v1/reports/attainment", **REPORT)).json()

    assert [r["small_group"] for r in body["rows"]] == [True, True]


def test_the_threshold_is_read_from_small_group_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMALL_GROUP_THRESHOLD", "10")

    assert GatewaySettings().small_group_threshold == 10
    monkeypatch.setenv("SMALL_GROUP_THRESHOLD", "0")
    with pytest.raises(ValueError, match="small_group_threshold"):
        GatewaySettings()


async def test_a_caller_refused_small_group_figures_gets_them_null_in_the_json_and_its_export(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[frozenset[Permission]] = []

    def refuse(permissions: frozenset[Permission]) -> bool:
        seen.append(frozenset(permissions))
        return False

    monkeypatch.setattr(small_groups, "small_group_percentages_shown", refuse)
    await seed_four_girls_and_six_boys(gateway)

    body = (await gateway.get("/v1/reports/attainment", **REPORT)).json()
    exported = (await gateway.get("/v1/reports/attainment", **REPORT, format="csv")).content.decode("utf-8-sig")

    assert Permission.READ_FIGURES in seen[0]
    assert [(r["label"], r["n"], r["pct"]) for r in body["rows"]] == [("Female", 4, None), ("Male", 6, 50.0)]
    rows = list(csv.DictReader(io.StringIO(exported.split("\r\n\r\n")[0])))
    assert [(r["label"], r["pct"], r["small_group"]) for r in rows] == [
        ("Female", "", "true"), ("Male", "50.0", "false"), ("All Pupils", "60.0", "false")
    ]


def test_withholding_a_small_statutory_row_nulls_its_figures_but_not_its_counts_or_the_national_figures() -> None:
    small = StatutoryFigures.of("F", "Female", "ks2.rwm", {"EXS": 2, "NOT": 1}, {"EXS": 1, "NOT": 1},
                                national_figures("ks2.rwm", "2024/25", NationalGroup.FEMALE))
    large = StatutoryFigures.of("M", "Male", "ks2.rwm", {"EXS": 3, "NOT": 3}, {})

    withheld = mark_small_groups([small, large], 5, withhold=True)

    assert withheld[0].small_group and not withheld[1].small_group
    assert withheld[0].figures == {"eligible": 3, "exs_plus_pct": None, "gds_pct": None}
    assert withheld[0].previous == {"eligible": 2, "exs_plus_pct": None, "gds_pct": None}
    assert withheld[0].national is not None and withheld[0].national["exs_plus_pct"].value == 65.0  # published, kept
    assert withheld[1].figures == {"eligible": 6, "exs_plus_pct": 50.0, "gds_pct": 0.0}
    assert {(c.difference, c.change, c.direction, c.display) for c in withheld[0].changes.values()} == {
        (None, None, "none", WITHHELD)
    }  # a change would give the withheld % back, with last year's
    assert withheld[1].changes == large.changes


def test_a_gap_with_a_small_group_on_either_side_is_withheld_with_it() -> None:
    point = GapPoint(YEAR, PERIOD, Figure(4, 3, 75.0), Figure(10, 5, 50.0), 25.0, 20.0, 5.0, "+5.0", "up", True)
    both_large = GapPoint(YEAR, PERIOD, Figure(8, 6, 75.0), Figure(10, 5, 50.0), 25.0, 20.0, 5.0, "+5.0", "up", True)

    withheld, kept = mark_small_groups([point, both_large], 5, withhold=True)

    assert (withheld.first.pct, withheld.second.pct) == (None, 50.0)
    assert (withheld.gap, withheld.previous_gap, withheld.change, withheld.display, withheld.direction,
            withheld.widening) == (None, None, None, WITHHELD, "none", None)  # 50.0 + 25.0 would tell 75.0
    assert kept == both_large
