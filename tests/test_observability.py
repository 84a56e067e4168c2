"""Every service serves Prometheus series at GET /metrics (no token, not in the OpenAPI), with real
values after real traffic through the running platform; requests carry an X-Request-ID through.

The platform is shared by the session's end-to-end tests, so counts are asserted as at least what
this test's own traffic adds, on label values only this test produces where it can.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tidemark_runtime.testing import eventually
from tidemark_schemas import topics

pytestmark = pytest.mark.e2e

TRUST, SCHOOL, YEAR, PERIOD = "trust-obs", "OBS-S1", "2025/26", "AUT1"


def samples(platform, service: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """A service's /metrics, fetched without a token: (sample name, labels) -> value."""
    response = httpx.get(f"http://127.0.0.1:{platform.ports[service]}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def matching(found: dict, name: str, **labels: str) -> dict[frozenset[tuple[str, str]], float]:
    return {key: v for (sample, key), v in found.items()
            if sample == name and set(labels.items()) <= set(key)}


def post_a_locked_school(platform) -> None:
    pupils = [dict(pupil_id=f"OBS-P{i}", school_id=SCHOOL, year_group="Y3", sex="F", fsm6=False, lac=False,
                   plac=False, sen="N", eal=False, ethnicity="WBRI", left_on=None) for i in range(3)]
    rows = [dict(pupil_id=f"OBS-P{i}", school_id=SCHOOL, academic_year=YEAR, period=PERIOD, year_group="Y3",
                 subject=subject, band="AT") for i in range(3) for subject in ("reading", "writing", "maths")]
    with platform.ingest(TRUST) as ingest:
        assert ingest.post("/v1/schools", json=[{"school_id": SCHOOL, "name": "Observatory"}]).status_code == 200
        assert ingest.post("/v1/pupils", json=pupils).status_code == 200
        assert ingest.post("/v1/assessments", json=rows).status_code == 200
        locked = ingest.post("/v1/assessments/lock", json={"school_id": SCHOOL, "academic_year": YEAR, "period": PERIOD},
                             headers={"X-Request-ID": "obs-lock-1"})
        assert locked.status_code == 200 and locked.headers["x-request-id"] == "obs-lock-1"


def test_every_service_serves_its_series_with_values_from_real_traffic(platform):
    before = {service: samples(platform, service) for service in ("ingest", "metrics", "statutory", "gateway")}
    post_a_locked_school(platform)

    def reading_shown() -> bool:
        with platform.gateway(TRUST) as gateway:
            answer = gateway.get("/v1/reports/attainment", params={
                "measure": "reading", "by": "school", "academic_year": YEAR, "period": PERIOD})
        return answer.status_code == 200 and answer.json()["all_pupils"]["n"] == 3

    eventually(reading_shown)

    ingest = eventually(lambda: (found := samples(platform, "ingest"))
                        and value(found, "tidemark_outbox_unpublished_rows") == 0 and found)
    lock = {"service": "ingest", "method": "POST", "route": "/v1/assessments/lock", "status": "200"}
    assert value(ingest, "tidemark_http_request_duration_seconds_count", **lock) \
        >= value(before["ingest"], "tidemark_http_request_duration_seconds_count", **lock) + 1
    assert value(ingest, "tidemark_http_request_duration_seconds_bucket", **lock, le="+Inf") \
        == value(ingest, "tidemark_http_request_duration_seconds_count", **lock)
    # 1 school + 3 pupils + 9 entered + 9 locked results were published, at least
    assert value(ingest, "tidemark_outbox_published_total") \
        >= value(before["ingest"], "tidemark_outbox_published_total") + 22
    assert value(ingest, "tidemark_outbox_oldest_unpublished_age_seconds") == 0.0

    metrics = samples(platform, "metrics")
    for projection in ("metrics", "attendance"):  # the metrics process hosts both projections
        assert ("tidemark_projection_events_consumed_total", frozenset({("projection", projection)})) in metrics
    assert value(metrics, "tidemark_projection_events_applied_total", projection="metrics") \
        >= value(before["metrics"], "tidemark_projection_events_applied_total", projection="metrics") + 22
    assert value(metrics, "tidemark_projection_batch_records_count", projection="metrics") \
        > value(before["metrics"], "tidemark_projection_batch_records_count", projection="metrics")
    assert value(metrics, "tidemark_projection_batch_records_sum", projection="metrics") \
        >= value(before["metrics"], "tidemark_projection_batch_records_sum", projection="metrics") + 22
    assert value(metrics, "tidemark_lock_to_visible_seconds_count", projection="metrics") \
        > value(before["metrics"], "tidemark_lock_to_visible_seconds_count", projection="metrics")
    assert value(metrics, "tidemark_lock_to_visible_seconds_sum", projection="metrics") > 0
    lags = matching(metrics, "tidemark_consumer_lag_records", projection="metrics", topic=topics.ASSESSMENTS)
    assert {dict(labels)["partition"] for labels in lags} == {str(p) for p in range(6)}
    assert all(lag >= 0 for lag in lags.values())
    assert value(metrics, "tidemark_http_request_duration_seconds_count", service="metrics", method="GET",
                 route="/metrics", status="200") >= 1

    consumed = value(before["statutory"], "tidemark_projection_events_consumed_total", projection="statutory")
    statutory = eventually(lambda: (found := samples(platform, "statutory")) and value(
        found, "tidemark_projection_events_consumed_total", projection="statutory") >= consumed + 3 and found)
    assert matching(statutory, "tidemark_consumer_lag_records", projection="statutory", topic=topics.STATUTORY)

    gateway = samples(platform, "gateway")
    report = {"service": "gateway", "method": "GET", "route": "/v1/reports/attainment", "status": "200"}
    assert value(gateway, "tidemark_http_request_duration_seconds_count", **report) \
        >= value(before["gateway"], "tidemark_http_request_duration_seconds_count", **report) + 1
    assert not matching(gateway, "tidemark_http_request_duration_seconds_count", route="/v1/reports/attainment?measure")


def test_metrics_need_no_token_and_stay_out_of_the_api_documents(platform):
    for service in ("ingest", "gateway"):
        base = f"http://127.0.0.1:{platform.ports[service]}"
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 200
        assert "/metrics" not in httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]


def test_an_unknown_path_is_counted_under_one_route_not_its_own(platform):
    base = f"http://127.0.0.1:{platform.ports['gateway']}"
    for probe in ("/wp-admin/obs-1", "/wp-admin/obs-2"):
        assert httpx.get(base + probe, timeout=10).status_code == 404
    found = samples(platform, "gateway")
    assert not [labels for (name, labels) in found if name.startswith("tidemark_http") and
                ("route", "/wp-admin/obs-1") in labels]
    assert value(found, "tidemark_http_request_duration_seconds_count", service="gateway", method="GET",
                 route="(unmatched)", status="404") >= 2


def test_a_request_without_a_usable_id_gets_one_made_up(platform):
    with platform.gateway(TRUST) as gateway:
        given = gateway.get("/v1/schools", headers={"X-Request-ID": "obs-schools-7"})
        made_up = gateway.get("/v1/schools", headers={"X-Request-ID": "bad id\twith spaces"})
        absent = gateway.get("/v1/schools")
    assert given.headers["x-request-id"] == "obs-schools-7"
    assert len(made_up.headers["x-request-id"]) == 32 and made_up.headers["x-request-id"] != "bad id\twith spaces"
    assert len(absent.headers["x-request-id"]) == 32
