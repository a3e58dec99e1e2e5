"""No /v1 operation can be reached without a credential: every one in the schema, and any
route added later, answers 401 before it validates its body."""

from __future__ import annotations

import httpx

from tests.security.conftest import bearer


def test_every_v1_operation_refuses_a_caller_without_a_credential(keyed: str) -> None:
    paths = httpx.get(f"{keyed}/openapi.json", timeout=30).json()["paths"]
    operations = [
        (method, path.replace("{session_id}", "s-1"))
        for path, item in paths.items()
        if path.startswith("/v1/")
        for method in item
    ]
    assert len(operations) >= 5
    for method, path in operations:
        # A body that fits no operation's schema: authentication answers first.
        refused = httpx.request(method, f"{keyed}{path}", json={}, timeout=30)
        assert refused.status_code == 401, (method, path, refused.text[:200])
        assert refused.headers["www-authenticate"] == "Bearer"
    unknown = httpx.get(f"{keyed}/v1/not-an-operation", timeout=30)
    assert unknown.status_code in (401, 404)
    wrong = httpx.get(f"{keyed}/v1/sessions/s-1", headers=bearer("not-a-key"), timeout=30)
    assert wrong.status_code == 401
