"""The OpenAPI schema is what the server sends: schemathesis generates requests from it (a
fixed number per operation, the same ones every run, on loopback) against the keyed server.
No answer is a 5xx, every answer fits the schema, and every status is one the schema lists."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.conftest import bearer

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# An admin's key reaches every operation; other keys' refusals are tested elsewhere.
ADMIN = bearer("admin-key-0004")
EXAMPLES = 12


def test_every_operation_keeps_to_its_schema(keyed: str) -> None:
    schema = schemathesis.openapi.from_url(f"{keyed}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_schema(case) -> None:  # type: ignore[no-untyped-def]
            if case.path == "/v1/admin/ingest":
                case.body = {"paths": ["products/dep-time-deposit.md"]}  # all would be slow
            case.call_and_validate(headers=ADMIN, checks=CHECKS, timeout=60)

        keeps_to_schema()
