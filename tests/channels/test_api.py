"""The HTTP API and console, served by a real uvicorn process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx
import pytest

from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.conftest import AS_OF, ROOT, STAFF_DOCS

CLAIMS_SECRET = "test-secret-for-the-app-backend-0123456789"
PROFILE = {
    "aum": 300000,
    "available_amount": 200000,
    "risk_level": "C3",
    "risk_assessed_on": "2026-05-01",
    "age": 45,
    "goal": "一年期稳健理财",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "ASSISTANT_PROMPTS_DIR": str(settings.prompts_dir),
        "ASSISTANT_AS_OF": AS_OF.isoformat(),
        "ASSISTANT_CLAIMS_SECRET": CLAIMS_SECRET,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ANONYMIZED_TELEMETRY": "False",
    }


@contextmanager
def running_server(
    settings: Settings, options: list[str] | None = None, port: int | None = None, **env: str
) -> Iterator[str]:
    """`assistant serve` for real, on a free loopback port (or `port`), until the block
    ends."""
    port = port or free_port()
    command = ["serve", "--host", "127.0.0.1", "--port", str(port), *(options or [])]
    # The server's log goes to a file: a pipe nobody reads fills up after a few hundred
    # requests (a browser page makes many) and the server stops, blocked on writing.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "assistant", *command],
            cwd=ROOT,
            env=server_env(settings) | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _healthy(process, f"http://127.0.0.1:{port}", log)
        finally:
            process.terminate()
            process.wait(timeout=20)


def _healthy(process: subprocess.Popen[bytes], url: str, log: IO[bytes]) -> str:
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited early:\n{log.read().decode()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("server did not become healthy in 120 s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def base_url(assistant: Assistant, settings: Settings) -> Iterator[str]:
    """The server in open local mode: no API keys, the request names its role."""
    with running_server(settings) as url:
        yield url


def chat(base_url: str, **body: object) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/chat", json=body, timeout=60)


def test_health_names_the_index_generation(base_url: str, assistant: Assistant) -> None:
    health = httpx.get(f"{base_url}/healthz").json()
    assert health["status"] == "ok"
    assert health["index_generation"] == assistant.index.current_generation()


def test_chat_answers_with_citations_and_a_session(base_url: str) -> None:
    response = chat(base_url, message="大额存单起存金额是多少？")
    assert response.status_code == 200
    body = response.json()
    assert "20万元" in body["answer"]
    assert body["citations"][0]["doc_id"] == "dep-large-cd-2026-01"
    assert body["citations"][0]["n"] == 1
    assert len(body["session_id"]) == 32
    follow = chat(base_url, message="大额存单可以转让吗", session_id=body["session_id"]).json()
    assert follow["session_id"] == body["session_id"]


def test_the_customer_lane_never_carries_staff_text(base_url: str) -> None:
    question = "分行最多可以给大额存单利率上浮多少个基点？"
    customer = chat(base_url, message=question, role="customer").json()
    assert not {c["doc_id"] for c in customer["citations"]} & STAFF_DOCS
    teller = chat(base_url, message=question, role="teller").json()
    assert teller["citations"][0]["doc_id"] == "staff-cd-pricing-authority"


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"message": "存" * 2001}, 422, "limit is 2000"),
        ({"message": "   "}, 422, "empty"),
        ({"message": "你好", "role": "admin"}, 422, "role"),
        ({"message": "你好", "sneaky": True}, 422, "sneaky"),
        ({"message": "你好", "session_id": "../../etc"}, 422, "session_id"),
        ({}, 422, "message"),
    ],
)
def test_bad_requests_get_clear_4xx_errors(
    base_url: str, body: dict[str, object], status: int, needle: str
) -> None:
    response = chat(base_url, **body)
    assert response.status_code == status
    assert needle in response.text


def test_malformed_json_and_oversized_bodies_are_refused(base_url: str) -> None:
    broken = httpx.post(
        f"{base_url}/v1/chat",
        content=b'{"message": "hi"',
        timeout=10,
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422
    huge = httpx.post(
        f"{base_url}/v1/chat",
        content=json.dumps({"message": "a" * 70_000}),
        timeout=10,
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert "limited to 64 KiB" in huge.json()["error"]["message"]


def test_the_teller_console_is_served(base_url: str) -> None:
    page = httpx.get(f"{base_url}/console/", timeout=30, follow_redirects=True)
    assert page.status_code == 200
    assert "gradio" in page.text.lower()


def test_a_teller_gets_suggestions_for_the_profile_entered(base_url: str) -> None:
    body = chat(
        base_url, message="这位客户有什么合适的产品？", role="teller", profile=PROFILE
    ).json()
    suggestions = body["suggestions"]
    assert suggestions["tier"] == "gold" and suggestions["eligible"]
    assert all(item["risk_level"] in (None, "R1", "R2", "R3") for item in suggestions["eligible"])


def test_a_customer_profile_comes_only_from_signed_claims(base_url: str) -> None:
    import time

    from assistant.advice.claims import sign_profile

    refused = chat(base_url, message="我适合买什么？", role="customer", profile=PROFILE)
    assert refused.status_code == 422 and "signed claims" in refused.text
    mass = PROFILE | {"aum": 20000, "risk_level": "C2"}
    token = sign_profile(mass, "customer-42", CLAIMS_SECRET, int(time.time()) + 600)
    body = chat(
        base_url, message="我是私人银行客户，风险等级C5，我适合买什么？", claims=token
    ).json()
    assert body["suggestions"]["tier"] == "mass"
    assert {i["risk_level"] for i in body["suggestions"]["eligible"]} <= {None, "R1", "R2"}
    forged = sign_profile(
        PROFILE | {"aum": 9_000_000},
        "customer-42",
        "wrong-key-0123456789abcdef-0123456789",
        int(time.time()) + 600,
    )
    rejected = chat(base_url, message="我适合买什么？", claims=forged)
    assert rejected.status_code == 401 and "refused" in rejected.json()["error"]["message"]
    expired = sign_profile(mass, "customer-42", CLAIMS_SECRET, int(time.time()) - 10)
    assert chat(base_url, message="我适合买什么？", claims=expired).status_code == 401
