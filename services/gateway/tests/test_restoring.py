"""While a Trust's read model is being rebuilt after it was lost (Redis lost its data, or the
broker its events), the gateway answers 503 for that Trust instead of figures that are wrong."""

from __future__ import annotations

from tidemark_gateway.testing import Gateway

YEAR, PERIOD = "2025/26", "AUT1"
REASON = "the read model is missing from Redis (new, flushed or lost)"


async def test_a_trust_whose_read_model_is_being_restored_gets_503_on_every_figure(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=3)
    assert (await gateway.get("/v1/reports/attainment", measure="reading", by="school", academic_year=YEAR,
                              period=PERIOD)).status_code == 200
    await gateway.seed.redis.set(gateway.seed.keys.restoring_key, REASON)

    for path, params in (
        ("/v1/reports/attainment", {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD}),
        ("/v1/dashboards/summative", {"academic_year": YEAR, "period": PERIOD}),
        ("/v1/schools", {}),
        ("/v1/dashboards/statutory", {"academic_year": YEAR}),
    ):
        answer = await gateway.get(path, **params)
        assert answer.status_code == 503, path
        assert answer.headers["retry-after"] == "10"
        assert answer.json() == {"detail": f"this Trust's figures are being rebuilt ({REASON}); try again shortly"}

    await gateway.seed.redis.delete(gateway.seed.keys.restoring_key)  # the rebuild's switch removes it
    assert (await gateway.get("/v1/schools")).json() == [{"school_id": "S1", "name": "Oak Primary"}]


async def test_only_statutory_figures_wait_while_the_statutory_projection_is_restored(gateway: Gateway) -> None:
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=3)
    await gateway.seed.redis.set(gateway.seed.statutory_keys.restoring_key, REASON)

    summative = await gateway.get("/v1/reports/attainment", measure="reading", by="school", academic_year=YEAR,
                                  period=PERIOD)
    assert summative.status_code == 200 and summative.json()["all_pupils"]["n"] == 3
    assert (await gateway.get("/v1/dashboards/statutory", academic_year=YEAR)).status_code == 503
    assert (await gateway.get("/v1/reports/progress-from-statutory", academic_year=YEAR, period=PERIOD)).status_code == 503


async def test_a_read_model_flushed_away_is_refused_before_any_projection_has_noticed(gateway: Gateway) -> None:
    """A FLUSHALL (or a Redis back without its data) removes the projection's epoch with every
    figure: no restoring marker is there yet, and an empty read model must not be served as figures,
    kept answers included."""
    report = {"measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD}
    await gateway.seed.school("S1", "Oak Primary")
    await gateway.seed.counts(YEAR, PERIOD, "reading", "S1", at=3)
    before = [await gateway.get("/v1/reports/attainment", **report) for _ in range(2)]  # the second one kept

    redis = gateway.seed.redis  # as a FLUSHALL would, but only this test's keys (the server is shared)
    await redis.delete(*[key async for key in redis.scan_iter(match=f"{gateway.seed.keys.prefix}*")])
    flushed = [await gateway.get(path, **params) for path, params in (
        ("/v1/reports/attainment", report), ("/v1/schools", {}), ("/v1/dashboards/summative", {
            "academic_year": YEAR, "period": PERIOD}))]

    assert [answer.status_code for answer in before] == [200, 200]
    assert [answer.status_code for answer in flushed] == [503, 503, 503]
    assert flushed[0].json() == {"detail": "this Trust's figures are being rebuilt (its read model is missing from "
                                 "Redis (flushed or new) and is being rebuilt); try again shortly"}
    await gateway.seed.whole()  # the projection's recovery writes the epoch once the rebuild is done
    assert (await gateway.get("/v1/schools")).json() == []
