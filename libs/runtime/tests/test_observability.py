"""The observability every HTTP app registers (`instrument`): request ids in the response and in
every log line, one JSON object per log line, latency series by route template and status."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from tidemark_runtime.observability.http import instrument
from tidemark_runtime.observability.logs import about_event, configure_logging
from tidemark_runtime.settings import PlatformSettings

SERVICE = "observed-test"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The process's logs as LOG_FORMAT=json writes them, into a buffer; the root logger is put
    back as it was afterwards (pytest's own capture included)."""
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
                                      if name.startswith("faststream"))]
    kept = [(logger, list(logger.handlers), logger.propagate, logger.level) for logger in loggers]
    buffer = io.StringIO()
    configure_logging(PlatformSettings(log_format="json"), SERVICE, stream=buffer)
    try:
        yield buffer
    finally:
        for logger, handlers, propagate, level in kept:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            for handler in handlers:
                logger.addHandler(handler)
            logger.propagate, logger.level = propagate, level


def observed_app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        logging.getLogger("tidemark.things").info("looked at %s", thing_id)
        return {"thing": thing_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    return instrument(app, SERVICE)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False), base_url="http://test")


def parsed(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def count(route: str, status: str) -> float:
    return REGISTRY.get_sample_value("tidemark_http_request_duration_seconds_count", {
        "service": SERVICE, "method": "GET", "route": route, "status": status}) or 0.0


async def test_a_json_log_line_names_the_service_level_message_and_the_request_id(log_lines):
    async with client(observed_app()) as http:
        answer = await http.get("/things/42", headers={"X-Request-ID": "req-42"})

    assert answer.headers["x-request-id"] == "req-42"
    [line] = [line for line in parsed(log_lines) if line["message"] == "looked at 42"]
    assert line.pop("time").endswith("+00:00")
    assert line == {"level": "INFO", "logger": "tidemark.things", "message": "looked at 42", "service": SERVICE,
                    "request_id": "req-42"}


async def test_a_request_without_an_id_is_given_one_that_its_log_lines_carry(log_lines):
    async with client(observed_app()) as http:
        answer = await http.get("/things/7")

    made_up = answer.headers["x-request-id"]
    assert len(made_up) == 32
    [line] = [line for line in parsed(log_lines) if line["message"] == "looked at 7"]
    assert line["request_id"] == made_up


def test_a_line_written_while_a_batch_is_applied_names_its_event(log_lines):
    with about_event("6f1c0d64-event", "pupil-9"):
        logging.getLogger("tidemark.projection").warning("batch failed; retrying in %.1fs", 0.1)
    logging.getLogger("tidemark.projection").info("idle")

    applying, idle = parsed(log_lines)
    assert (applying["level"], applying["message"], applying["event_id"], applying["event_key"]) == (
        "WARNING", "batch failed; retrying in 0.1s", "6f1c0d64-event", "pupil-9")
    assert "event_id" not in idle and "request_id" not in idle and idle["service"] == SERVICE


def test_text_is_the_default_format(log_lines):
    buffer = io.StringIO()
    configure_logging(PlatformSettings(), SERVICE, stream=buffer)
    logging.getLogger("tidemark.things").warning("plain")
    assert buffer.getvalue().rstrip().endswith("WARNING tidemark.things plain")


async def test_requests_are_counted_by_route_template_and_status_even_when_the_app_fails():
    before = {key: count(*key) for key in (("/things/{thing_id}", "200"), ("/broken", "500"), ("(unmatched)", "404"))}
    async with client(observed_app()) as http:
        assert (await http.get("/things/1")).status_code == 200
        assert (await http.get("/things/2")).status_code == 200
        assert (await http.get("/broken")).status_code == 500
        assert (await http.get("/nothing/here")).status_code == 404

    assert count("/things/{thing_id}", "200") == before[("/things/{thing_id}", "200")] + 2
    assert count("/broken", "500") == before[("/broken", "500")] + 1
    assert count("(unmatched)", "404") == before[("(unmatched)", "404")] + 1
    assert count("/things/1", "200") == 0


async def test_metrics_are_served_without_a_token_and_left_out_of_the_openapi():
    app = observed_app()
    async with client(app) as http:
        await http.get("/things/3")
        exposed = await http.get("/metrics")

    assert exposed.status_code == 200 and exposed.headers["content-type"].startswith("text/plain")
    assert f'tidemark_http_request_duration_seconds_count{{method="GET",route="/things/{{thing_id}}",' \
           f'service="{SERVICE}",status="200"}}' in exposed.text
    assert "/metrics" not in app.openapi()["paths"]


def test_the_trace_exporter_is_the_one_the_settings_name():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter
    from pydantic import ValidationError

    from tidemark_runtime.observability.tracing import exporter_of

    assert exporter_of(PlatformSettings()) is None
    assert isinstance(exporter_of(PlatformSettings(trace_exporter="console")), ConsoleSpanExporter)
    otlp = exporter_of(PlatformSettings(trace_exporter="otlp", trace_otlp_endpoint="http://collector:4318/v1/traces"))
    assert isinstance(otlp, OTLPSpanExporter) and otlp._endpoint == "http://collector:4318/v1/traces"
    with pytest.raises(ValidationError, match="trace_exporter"):
        PlatformSettings(trace_exporter="jaeger")
