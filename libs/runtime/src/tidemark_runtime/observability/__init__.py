"""Observability shared by every service: Prometheus series and `GET /metrics` (`metrics`, `http`),
structured logs with a request or event id (`logs`) and OpenTelemetry traces carried from the
ingest request through the outbox and Kafka to the projections' Redis writes (`tracing`).
docs/operations.md lists every series, log field and setting."""
