"""Logs: one line per record, as text (a terminal) or as JSON (LOG_FORMAT=json: the embedded stack,
compose and Kubernetes), each with the service, the level, the message and what it was about: the
request id of the HTTP request being served, or the id and key of the event whose batch is being
applied, and the trace and span ids when tracing is on.

JSON by python-json-logger: it is a formatter for the standard `logging` module, so every line
any library writes (uvicorn, aiokafka, FastStream, SQLAlchemy) comes out in the same shape with no
change to a single logging call; structlog would have meant its own logger API at every call site
and a bridge for the libraries' records.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO

from opentelemetry import trace
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from tidemark_runtime.observability import tracing
from tidemark_runtime.settings import PlatformSettings

REQUEST_ID: ContextVar[str | None] = ContextVar("tidemark_request_id", default=None)
"""The id of the HTTP request being served (X-Request-ID, or one made up), echoed in its response."""
EVENT: ContextVar[tuple[str, str] | None] = ContextVar("tidemark_event", default=None)
"""(event id, key) of the event being applied: the first event of the batch being applied."""

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = ("levelname", "name", "message")
"""Every JSON line has these (as level, logger, message), plus time, service and the context fields."""


class ContextFields(logging.Filter):
    """Adds to each record the service and what it is about (request or event, trace): the JSON
    formatter writes them as fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if (request_id := REQUEST_ID.get()) is not None:
            record.request_id = request_id
        if (event := EVENT.get()) is not None:
            record.event_id, record.event_key = event
        if tracing.enabled():
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
                record.span_id = format(context.span_id, "016x")
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(
            list(JSON_FIELDS), rename_fields={"levelname": "level", "name": "logger"}, timestamp="time",
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's copy of the message with colour codes
        )
    return logging.Formatter(TEXT_FORMAT)


FASTSTREAM_ACCESS_LOGGERS = ("faststream.access.kafka",)
"""The loggers FastStream's brokers make when they start (with a handler of their own unless the
logger already has one writing to stdout)."""


def configure_logging(settings: PlatformSettings, service: str, stream: IO[str] | None = None) -> logging.Handler:
    """The process's root handler (replacing any), writing to stdout (or `stream`) in the
    settings' format and level. FastStream's loggers, which write through coloured handlers of
    their own, are given this one instead."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(ContextFields(service))
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in [name for name in logging.root.manager.loggerDict if name == "faststream" or name.startswith("faststream.")]:
        _only(logging.getLogger(name), None)
    for name in FASTSTREAM_ACCESS_LOGGERS:
        # Made later, when the broker starts: FastStream adds no handler of its own to a logger
        # that already writes to stdout, and keeps it from propagating (this handler writes it once).
        _only(logging.getLogger(name), handler)
    return handler


def _only(logger: logging.Logger, handler: logging.Handler | None) -> None:
    """`logger` writes through `handler` only (None: through the root's)."""
    for previous in list(logger.handlers):
        logger.removeHandler(previous)
    if handler is None:
        logger.propagate = True
    else:
        logger.addHandler(handler)
        logger.propagate = False


@contextmanager
def about_event(event_id: str, key: str) -> Iterator[None]:
    """Log lines written in the block name this event (a batch: its first event)."""
    token = EVENT.set((event_id, key))
    try:
        yield
    finally:
        EVENT.reset(token)
