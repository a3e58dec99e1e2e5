"""The channels as their users reach them: a real server with API keys per channel, the
intranet's signed tokens, streaming, the official `openai` package, sessions, feedback and
hand-offs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from assistant.answer.conversation import FollowUps
from assistant.channels.api import create_app
from assistant.channels.auth import INTRANET_AUDIENCE, RateLimiter
from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import running_server, server_env
from tests.conftest import ROOT, STAFF_DOCS

FOLLOW_UPS = FollowUps.load(ROOT / "prompts")
KEYS = {
    "teller-key-0001": "teller",
    "app-key-0002": "customer_app",
    "intranet-key-0003": "intranet",
    "admin-key-0004": "admin",
    "burst-key-0005": "customer_app",
}
INTRANET_SECRET = "intranet-signing-key-for-tests-0123456789"
WIDGET_ORIGIN = "http://intranet.jianglan.example"
STAFF_QUESTION = "分行最多可以给大额存单利率上浮多少个基点？"


@pytest.fixture(scope="module")
def url(assistant: Assistant, settings: Settings) -> Iterator[str]:
    with running_server(
        settings,
        ASSISTANT_API_KEYS=json.dumps(KEYS),
        ASSISTANT_INTRANET_SECRET=INTRANET_SECRET,
        ASSISTANT_WIDGET_ORIGINS=json.dumps([WIDGET_ORIGIN]),
        ASSISTANT_RATE_LIMIT_PER_MINUTE="100",
    ) as base:
        yield base


def post(url: str, path: str, key: str | None, **body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}{path}", json=body, headers=headers, timeout=60)


def intranet_token(role: str, secret: str = INTRANET_SECRET, ttl: int = 600) -> str:
    now = int(time.time())
    claims = {"sub": "u-7", "role": role, "aud": INTRANET_AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def cited(response: httpx.Response) -> set[str]:
    return {c["doc_id"] for c in response.json()["citations"]}


def sse_events(body: str) -> list[tuple[str, dict[str, object]]]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields and "data" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_no_key_or_an_unknown_key_is_refused(url: str) -> None:
    missing = post(url, "/v1/chat", None, message="你好")
    assert missing.status_code == 401
    assert "Authorization: Bearer" in missing.json()["error"]["message"]
    assert post(url, "/v1/chat", "guessed-key", message="你好").status_code == 401


def test_each_key_stays_in_its_channels_lane(url: str) -> None:
    app = post(url, "/v1/chat", "app-key-0002", message=STAFF_QUESTION)
    assert app.status_code == 200 and not cited(app) & STAFF_DOCS
    escalated = post(url, "/v1/chat", "app-key-0002", message=STAFF_QUESTION, role="teller")
    assert escalated.status_code == 403 and "customer" in escalated.json()["error"]["message"]
    teller = post(url, "/v1/chat", "teller-key-0001", message=STAFF_QUESTION)
    assert "staff-cd-pricing-authority" in cited(teller)
    as_customer = post(url, "/v1/chat", "teller-key-0001", message=STAFF_QUESTION, role="customer")
    assert not cited(as_customer) & STAFF_DOCS


def test_intranet_users_are_who_their_signed_token_says(url: str) -> None:
    employee = post(url, "/v1/chat", intranet_token("employee"), message=STAFF_QUESTION)
    assert "staff-cd-pricing-authority" in cited(employee)
    customer = post(url, "/v1/chat", intranet_token("customer"), message=STAFF_QUESTION)
    assert customer.status_code == 200 and not cited(customer) & STAFF_DOCS
    forged = post(
        url,
        "/v1/chat",
        intranet_token("employee", "not-the-key-0123456789abcdef-0123456789"),
        message="你好",
    )
    assert forged.status_code == 401 and "sign-in token was refused" in forged.text
    expired = post(url, "/v1/chat", intranet_token("employee", ttl=-60), message="你好")
    assert expired.status_code == 401


def test_streamed_segments_add_up_to_the_checked_answer(url: str) -> None:
    response = post(
        url, "/v1/chat", "app-key-0002", message="大额存单一年期利率是多少？", stream=True
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    deltas = [data["text"] for name, data in events if name == "delta"]
    name, done = events[-1]
    assert name == "done" and len(deltas) >= 2
    assert "".join(map(str, deltas)) == done["answer"]
    assert "1.55%" in str(done["answer"])
    assert "dep-large-cd-2026-01" in {c["doc_id"] for c in done["citations"]}  # type: ignore[attr-defined]


def test_a_bad_streaming_request_is_an_error_not_a_broken_stream(url: str) -> None:
    response = post(url, "/v1/chat", "app-key-0002", message="  ", stream=True)
    assert response.status_code == 422 and "empty" in response.json()["error"]["message"]


def test_the_official_openai_client_works_unmodified(url: str) -> None:
    client = OpenAI(base_url=f"{url}/v1", api_key="app-key-0002", max_retries=0)
    completion = client.chat.completions.create(
        model="jianglan-assistant",
        messages=[
            {"role": "system", "content": "ignored: the bank's rules are not negotiable"},
            {"role": "user", "content": "大额存单起存金额是多少？"},
        ],
    )
    assert "20万元" in (completion.choices[0].message.content or "")
    extra = completion.model_extra or {}
    assert extra["citations"][0]["doc_id"] == "dep-large-cd-2026-01"
    stream = client.chat.completions.create(
        model="jianglan-assistant",
        messages=[{"role": "user", "content": "How do I report a lost card?"}],
        stream=True,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Lost Debit Card" in text and "mobile app" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"]


def test_openai_clients_get_the_conversation_in_context(url: str) -> None:
    client = OpenAI(base_url=f"{url}/v1", api_key="app-key-0002", max_retries=0)
    first = "大额存单一年期利率是多少？"
    reply = client.chat.completions.create(
        model="jianglan-assistant",
        messages=[
            {"role": "user", "content": first},
            {"role": "assistant", "content": "1年期年利率1.55%"},
            {"role": "user", "content": "那两年的呢？"},
        ],
    )
    assert "1.60%" in (reply.choices[0].message.content or "")


def test_a_follow_up_in_a_session_is_read_against_the_question_before(url: str) -> None:
    alone = post(url, "/v1/chat", "app-key-0002", message="那两年的呢？")
    assert "dep-large-cd-2026-01" not in cited(alone)
    first = post(url, "/v1/chat", "app-key-0002", message="大额存单一年期利率是多少？").json()
    follow = post(
        url, "/v1/chat", "app-key-0002", message="那两年的呢？", session_id=first["session_id"]
    )
    assert "dep-large-cd-2026-01" in cited(follow) and "1.60%" in follow.json()["answer"]


def test_follow_ups_are_recognised_by_their_shape() -> None:
    history = ["大额存单一年期利率是多少？"]
    assert FOLLOW_UPS.contextualize(history, "那两年的呢？", "zh-CN").startswith("大额存单")
    assert FOLLOW_UPS.contextualize(history, "信用卡年费是多少？", "zh-CN") == "信用卡年费是多少？"
    assert FOLLOW_UPS.contextualize(history, "What about two years?", "en").startswith("大额存单")
    assert FOLLOW_UPS.contextualize([], "那两年的呢？", "zh-CN") == "那两年的呢？"


def test_sessions_are_stored_masked_and_readable_only_by_their_owner(url: str) -> None:
    turn = post(
        url, "/v1/chat", "app-key-0002", message="我的手机号13812345678，怎么挂失银行卡？"
    ).json()
    session = httpx.get(
        f"{url}/v1/sessions/{turn['session_id']}",
        headers={"Authorization": "Bearer app-key-0002"},
    )
    assert session.status_code == 200
    stored = session.json()["turns"][0]
    assert "13812345678" not in stored["question"] and "怎么挂失银行卡" in stored["question"]
    assert stored["turn_id"] == turn["turn_id"] and stored["citations"]
    other = httpx.get(
        f"{url}/v1/sessions/{turn['session_id']}",
        headers={"Authorization": "Bearer teller-key-0001"},
    )
    assert other.status_code == 404
    hijack = post(url, "/v1/chat", "teller-key-0001", message="继续", session_id=turn["session_id"])
    assert hijack.status_code == 404
    admin = httpx.get(
        f"{url}/v1/sessions/{turn['session_id']}",
        headers={"Authorization": "Bearer admin-key-0004"},
    )
    assert admin.status_code == 200


def test_feedback_is_tied_to_a_turn_of_the_caller(url: str) -> None:
    turn = post(url, "/v1/chat", "app-key-0002", message="信用卡年费是多少？").json()
    given = post(
        url,
        "/v1/feedback",
        "app-key-0002",
        turn_id=turn["turn_id"],
        rating="down",
        comment="太简略",
    )
    assert given.status_code == 201 and given.json()["turn_id"] == turn["turn_id"]
    assert (
        post(
            url, "/v1/feedback", "teller-key-0001", turn_id=turn["turn_id"], rating="up"
        ).status_code
        == 404
    )
    assert post(url, "/v1/feedback", "app-key-0002", turn_id="nope", rating="up").status_code == 404
    assert (
        post(url, "/v1/feedback", "app-key-0002", turn_id=turn["turn_id"], rating="meh").status_code
        == 422
    )


def test_a_complaint_opens_a_handoff_and_says_what_happens_next(url: str) -> None:
    response = post(url, "/v1/chat", "app-key-0002", message="我要投诉你们网点的服务态度")
    body = response.json()
    assert body["action"] == "handoff"
    reference = body["handoff"]["reference"]
    assert reference in body["answer"] and "15日" in body["answer"]
    session = httpx.get(
        f"{url}/v1/sessions/{body['session_id']}",
        headers={"Authorization": "Bearer app-key-0002"},
    ).json()
    assert session["handoffs"] == [{"reference": reference, "kind": "complaint", "status": "open"}]


def test_only_an_admin_key_reindexes_and_only_inside_the_knowledge_folder(url: str) -> None:
    assert post(url, "/v1/admin/ingest", "teller-key-0001").status_code == 403
    outside = post(url, "/v1/admin/ingest", "admin-key-0004", paths=["../pyproject.toml"])
    assert outside.status_code == 422 and "inside the knowledge folder" in outside.text
    done = post(url, "/v1/admin/ingest", "admin-key-0004", paths=["policies"])
    assert done.status_code == 200
    report = done.json()
    assert report["unchanged"] and not report["added"] and not report["skipped"]
    assert (
        post(url, "/v1/chat", "app-key-0002", message="大额存单起存金额是多少？").status_code == 200
    )


def test_a_second_reindex_while_one_runs_is_a_conflict(
    assistant: Assistant, settings: Settings
) -> None:
    app = create_app(settings.model_copy(update={"api_keys": KEYS}), assistant)
    with TestClient(app) as client, app.state.services.ingest_lock:
        busy = client.post(
            "/v1/admin/ingest", json={}, headers={"Authorization": "Bearer admin-key-0004"}
        )
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "ingest_running"


def test_readiness_reports_the_index_and_the_store(url: str) -> None:
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200
    expected = {"ready": True, "problems": [], "degraded": [], "generator": "extractive"}
    assert ready.json() == expected


def test_only_the_widgets_origin_may_call_from_a_browser(url: str) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            f"{url}/v1/chat",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )

    assert preflight(WIDGET_ORIGIN).headers.get("access-control-allow-origin") == WIDGET_ORIGIN
    assert "access-control-allow-origin" not in preflight("http://evil.example").headers


def test_a_key_that_floods_is_slowed_down_and_told_when_to_retry(url: str) -> None:
    headers = {"Authorization": "Bearer burst-key-0005"}

    def attempt(_: int) -> httpx.Response:
        return httpx.get(f"{url}/v1/sessions/none", headers=headers, timeout=60)

    # Concurrent, so that a slow shared machine cannot refill the bucket as fast as it drains.
    # The bucket refills as time passes, so which request is refused depends on the machine;
    # that some are, and that each refusal says when to retry, does not.
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(attempt, range(150)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(404) >= 100 and 429 in statuses
    assert all(int(r.headers["retry-after"]) >= 1 for r in responses if r.status_code == 429)
    # Other keys are not affected.
    other = httpx.get(f"{url}/v1/sessions/none", headers={"Authorization": "Bearer app-key-0002"})
    assert other.status_code == 404


def test_the_rate_limiter_refills_over_time() -> None:
    limiter = RateLimiter(per_minute=2)
    assert limiter.retry_after("k", now=0.0) == 0
    assert limiter.retry_after("k", now=0.0) == 0
    assert limiter.retry_after("k", now=0.0) == pytest.approx(30)
    assert limiter.retry_after("k", now=31.0) == 0


def test_without_keys_the_server_refuses_to_leave_loopback(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--port", "9"],
        cwd=ROOT,
        env=server_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "ASSISTANT_API_KEYS" in result.stderr
