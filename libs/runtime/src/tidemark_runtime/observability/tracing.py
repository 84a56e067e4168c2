"""OpenTelemetry traces: from the ingest request, through the outbox row and the Kafka record
headers (W3C `traceparent`), to the projection's apply, its Redis write and the live notice.

Off by default (TRACE_EXPORTER=none): then no span is made at all and no context is stored or
sent, so the hot paths pay one boolean test. `configure_tracing` (at process start) installs an
SDK tracer provider exporting to the console or an OTLP/HTTP collector.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tidemark_runtime.settings import PlatformSettings

TRACEPARENT = "traceparent"
MAX_LINKS = 32
"""Contexts a batch span links to besides its parent (a batch gathers records of many requests)."""

_PROPAGATOR = TraceContextTextMapPropagator()
_provider: trace.TracerProvider | None = None
"""The provider spans go to; None: tracing is off."""


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    return (_provider or trace.NoOpTracerProvider()).get_tracer("tidemark")


def exporter_of(settings: PlatformSettings) -> SpanExporter | None:
    """The span exporter TRACE_EXPORTER names (None for `none`)."""
    if settings.trace_exporter == "console":
        return ConsoleSpanExporter()
    if settings.trace_exporter == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as missing:  # the `otlp` extra of tidemark-runtime
            raise RuntimeError("TRACE_EXPORTER=otlp needs tidemark-runtime[otlp] installed") from missing
        return OTLPSpanExporter(endpoint=settings.trace_otlp_endpoint) if settings.trace_otlp_endpoint \
            else OTLPSpanExporter()
    return None


def configure_tracing(settings: PlatformSettings, service: str) -> TracerProvider | None:
    """Install the process's tracer provider as the settings say (once per process, at start)."""
    exporter = exporter_of(settings)
    if exporter is None:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": f"tidemark-{service}", "service.namespace": "tidemark"}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    global _provider
    _provider = provider
    return provider


@contextlib.contextmanager
def use_provider(provider: trace.TracerProvider | None) -> Iterator[None]:
    """Send spans to `provider` for a while (tests: an SDK provider with an in-memory exporter)."""
    global _provider
    previous, _provider = _provider, provider
    try:
        yield
    finally:
        _provider = previous


@contextlib.contextmanager
def span(
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: Context | None = None,
    links: Sequence[Link] = (),
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span | None]:
    """A span made current for the block (None, and nothing made, when tracing is off)."""
    if _provider is None:
        yield None
        return
    with tracer().start_as_current_span(name, context=parent, kind=kind, links=links, attributes=attributes) as made:
        yield made


def current_traceparent() -> str | None:
    """The current span's context as a W3C `traceparent` (None when tracing is off or no span is
    current): stored with each outbox row, so the relay, another task, continues the same trace."""
    if _provider is None:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def context_of(traceparent: str | bytes | None) -> Context | None:
    """The context a `traceparent` names (None when absent or malformed)."""
    if not traceparent:
        return None
    value = traceparent.decode("latin-1") if isinstance(traceparent, bytes) else traceparent
    found = _PROPAGATOR.extract({TRACEPARENT: value})
    return found if trace.get_current_span(found).get_span_context().is_valid else None


def request_context(headers: Iterable[tuple[bytes, bytes]]) -> Context | None:
    """The context an incoming HTTP request carries (ASGI headers), if any."""
    for name, value in headers:
        if name == b"traceparent":
            return context_of(value)
    return None


def record_headers(traceparent: str | None) -> list[tuple[str, bytes]] | None:
    """Kafka record headers (aiokafka) carrying `traceparent` (None: nothing to carry)."""
    return [(TRACEPARENT, traceparent.encode())] if traceparent else None


def message_headers() -> dict[str, str] | None:
    """FastStream message headers carrying the current context (None: nothing to carry)."""
    value = current_traceparent()
    return {TRACEPARENT: value} if value else None


def batch_context(traceparents: Iterable[str | bytes | None]) -> tuple[Context | None, list[Link]]:
    """A batch gathers records of many traces: the first one's context is the parent of the batch's
    span (so that trace runs on through it), the others are linked (at most MAX_LINKS)."""
    parent: Context | None = None
    links: list[Link] = []
    seen: set[str | bytes] = set()
    for value in traceparents:
        if not value or value in seen:
            continue
        seen.add(value)
        found = context_of(value)
        if found is None:
            continue
        if parent is None:
            parent = found
        elif len(links) < MAX_LINKS:
            links.append(Link(trace.get_current_span(found).get_span_context()))
        else:
            break
    return parent, links


def record_traceparents(records: Iterable[Any]) -> Iterator[bytes | None]:
    """The `traceparent` header of each consumed record (aiokafka `ConsumerRecord`), or None."""
    for record in records:
        value = None
        for name, raw in record.headers or ():
            if name == TRACEPARENT:
                value = raw
                break
        yield value

