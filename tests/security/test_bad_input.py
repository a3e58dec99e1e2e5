"""Bad input gets a clear 4xx saying what is wrong, never a 5xx or a broken stream, and
nothing is stored half."""

from __future__ import annotations

import asyncio
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from assistant.channels.api import health
from tests.security.conftest import TELLER_KEY, bearer, intranet_token


def raw_post(url: str, path: str, body: bytes, key: str = TELLER_KEY) -> httpx.Response:
    headers = bearer(key) | {"Content-Type": "application/json"}
    return httpx.post(f"{url}{path}", content=body, headers=headers, timeout=60)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat", b'{"message": "\\ud800abc"}'),
        ("/v1/chat", b'{"message": "\\ud800abc", "stream": true}'),
        ("/v1/chat", b'{"message": "\\u0000"}'),
        ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\u0000\\ud83d"}]}'),
        (
            "/v1/chat/completions",
            b'{"messages": [{"role": "user", "content": "\\ud83d"}, '
            b'{"role": "user", "content": "ok"}]}',
        ),
    ],
)
def test_text_that_is_not_text_is_a_422(keyed: str, path: str, body: bytes) -> None:
    response = raw_post(keyed, path, body)
    assert response.status_code == 422, response.text[:300]
    assert "character" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "paths",
    [["policies/\u0000x"], ["p" * 5000], ["/".join(["d"] * 2000)]],
)
def test_an_admin_path_that_cannot_be_a_file_is_a_422(keyed: str, paths: list[str]) -> None:
    response = httpx.post(
        f"{keyed}/v1/admin/ingest",
        json={"paths": paths},
        headers=bearer("admin-key-0004"),
        timeout=60,
    )
    assert response.status_code == 422, response.text[:300]


def test_a_body_larger_than_the_limit_is_refused_while_it_is_read(keyed: str) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"message": "'
        for _ in range(10 * 1024):
            yield b"x" * 1024
        yield b'"}'

    response = httpx.post(
        f"{keyed}/v1/chat",
        content=chunks(),
        headers=bearer(TELLER_KEY) | {"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413 and "64 KiB" in response.json()["error"]["message"]


def test_an_oversized_header_or_token_is_refused(keyed: str) -> None:
    host, port = urlsplit(keyed).hostname, urlsplit(keyed).port
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(
            b"GET /v1/sessions/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + b"a" * 5_000_000
            + b"\r\n\r\n"
        )
        status = connection.recv(64)
    assert status.split(b" ")[1] in (b"400", b"413", b"431")
    token = intranet_token("employee", padding="x" * 10_000)
    response = httpx.get(f"{keyed}/v1/sessions/x", headers=bearer(token), timeout=30)
    assert response.status_code == 401 and "too long" in response.json()["error"]["message"]


def test_an_intranet_token_lives_no_longer_than_the_limit(keyed: str) -> None:
    century = intranet_token("employee", ttl=100 * 365 * 24 * 3600)
    response = httpx.get(f"{keyed}/v1/sessions/x", headers=bearer(century), timeout=30)
    assert response.status_code == 401 and "lifetime" in response.json()["error"]["message"]
    fresh = intranet_token("employee", ttl=3600)
    assert httpx.get(f"{keyed}/v1/sessions/x", headers=bearer(fresh), timeout=30).status_code == 404


def test_liveness_is_answered_on_the_event_loop_not_the_busy_thread_pool() -> None:
    # A sync route waits for a worker thread, which 40 concurrent turns all hold.
    assert asyncio.iscoroutinefunction(health.healthz)
