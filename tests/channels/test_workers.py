"""Several workers behind one port share what a caller is allowed: one rate limit, counted in
the database, not one per worker."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import running_server

KEY = "teller-key-workers-01"


def test_two_workers_give_a_caller_one_allowance(assistant: Assistant, settings: Settings) -> None:
    env = {
        "ASSISTANT_API_KEYS": json.dumps({KEY: "teller"}),
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "4",
    }
    with running_server(settings, ["--workers", "2"], **env) as url:
        workers = {httpx.get(f"{url}/healthz", timeout=30).json()["worker"] for _ in range(60)}
        headers = {"Authorization": f"Bearer {KEY}"}
        statuses = Counter(
            httpx.get(f"{url}/v1/sessions/none", headers=headers, timeout=30).status_code
            for _ in range(12)
        )
    # 4 within the allowance (404: no such session), the rest told to wait; with a limit per
    # worker, up to 8 would have gone through.
    assert len(workers) == 2
    assert statuses[404] == 4 and statuses[429] == 8, statuses
