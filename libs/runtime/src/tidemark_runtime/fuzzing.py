"""Schemathesis over a service's whole OpenAPI, in-process: every operation, positive and negative
input, under each of the given bearer tokens. For tests only (schemathesis is a test requirement).

What it checks: no answer is a 5xx, and every answer is one the OpenAPI documents (status, content
type, headers and body schema). Left out: that every schema-valid request succeeds, since some of
our rules are not JSON Schema (a school must be the caller's, an academic year within the window:
all a 4xx naming the field)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Err
from schemathesis.python import asgi
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 25
"""Examples per operation and generation mode."""


def fuzz(app: Any, tokens: Sequence[str], exclude_paths: Sequence[str] = (), examples: int = EXAMPLES) -> tuple[int, list[str]]:
    """Fuzz every operation of `app` (its lifespan run by schemathesis) but those under
    `exclude_paths`: the number of operations, and one line per operation and mode that failed
    (every operation runs, whatever failed before)."""
    schema: BaseSchema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for path in exclude_paths:
        schema = schema.exclude(path=path)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the schema cannot describe: a failure, not one fuzzed less
        operations.append(result.ok())
    failures: list[str] = []
    try:
        for operation in operations:
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                cases = operation.as_strategy(generation_mode=mode)

                @given(case=cases, token=st.sampled_from(list(tokens)))
                @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def answers_as_documented(case: schemathesis.Case[Any], token: str) -> None:
                    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                           excluded_checks=[positive_data_acceptance])

                try:
                    answers_as_documented()
                except Unsatisfiable:
                    if mode is not schemathesis.GenerationMode.NEGATIVE:
                        failures.append(f"{operation.label} ({mode.value}): no valid input could be generated")
                    # negative: an operation with no input to spoil
                except (Exception, BaseExceptionGroup) as error:  # noqa: BLE001 - each failure is reported
                    failures.append(f"{operation.label} ({mode.value}): {error!r}")
    finally:
        asgi.shutdown_lifespans()
    return len(operations), failures
