"""A keyed server, as a bank would run it (API keys, both secrets), for the attacks below."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from assistant.channels.auth import INTRANET_AUDIENCE
from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import running_server

KEYS = {
    "teller-key-0001": "teller",
    "app-key-0002": "customer_app",
    "intranet-key-0003": "intranet",
    "admin-key-0004": "admin",
}
TELLER_KEY = "teller-key-0001"
INTRANET_SECRET = "intranet-signing-key-for-tests-0123456789"
STAFF_QUESTION = "分行最多可以给大额存单上浮多少个基点？"
STAFF_ANSWER = "10个基点"


def keyed_env(**more: str) -> dict[str, str]:
    return {
        "ASSISTANT_API_KEYS": json.dumps(KEYS),
        "ASSISTANT_INTRANET_SECRET": INTRANET_SECRET,
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "500",
        **more,
    }


@pytest.fixture(scope="package")
def keyed(assistant: Assistant, settings: Settings) -> Iterator[str]:
    with running_server(settings, **keyed_env()) as url:
        yield url


def intranet_token(
    role: str, sub: str = "u-7", ttl: int = 600, issued: int | None = None, **claims: object
) -> str:
    now = int(time.time())
    payload = {
        "sub": sub,
        "role": role,
        "aud": INTRANET_AUDIENCE,
        "iat": now if issued is None else issued,
        "exp": now + ttl,
        **claims,
    }
    return jwt.encode(payload, INTRANET_SECRET, algorithm="HS256")


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def chat(url: str, credential: str, **body: object) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat", json=body, headers=bearer(credential), timeout=60)
