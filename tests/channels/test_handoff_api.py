"""The hand-off queue over HTTP, on a real keyed server: a customer's request for a person
is registered (and said so honestly, with its reference once and when the bank will call),
reaches the staff queue, is taken and closed by a teller; only tellers and administrators
may work the queue."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from assistant.channels.auth import INTRANET_AUDIENCE
from tests.channels.test_api import running_server
from tests.conftest import make_settings

KEYS = {
    "teller-key-0001": "teller",
    "app-key-0002": "customer_app",
    "intranet-key-0003": "intranet",
    "admin-key-0004": "admin",
}
TELLER, APP, INTRANET, ADMIN = KEYS
INTRANET_SECRET = "intranet-signing-key-for-handoff-tests-0123"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`assistant serve` with API keys, over a store of its own (a hand-off needs no index)."""
    settings = make_settings(tmp_path_factory.mktemp("handoff-api"))
    keyed = {
        "ASSISTANT_API_KEYS": json.dumps(KEYS),
        "ASSISTANT_INTRANET_SECRET": INTRANET_SECRET,
        "ASSISTANT_RATE_LIMIT_PER_MINUTE": "500",
    }
    with running_server(settings, **keyed) as running:
        yield running


def employee_token() -> str:
    now = int(time.time())
    claims = {"sub": "e-1", "role": "employee", "aud": INTRANET_AUDIENCE, "iat": now}
    return jwt.encode(claims | {"exp": now + 600}, INTRANET_SECRET, algorithm="HS256")


def call(url: str, credential: str | None, method: str, path: str, **body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    return httpx.request(method, f"{url}{path}", json=body or None, headers=headers, timeout=60)


def chat(url: str, message: str) -> dict[str, Any]:
    response = call(url, APP, "POST", "/v1/chat", message=message)
    assert response.status_code == 200, response.text[:300]
    body: dict[str, Any] = response.json()
    assert body["action"] == "handoff"
    return body


def queued(url: str, state: str | None = None) -> dict[str, dict[str, Any]]:
    path = "/v1/handoffs" + (f"?state={state}" if state else "")
    response = call(url, TELLER, "GET", path)
    assert response.status_code == 200, response.text[:300]
    return {h["reference"]: h for h in response.json()["handoffs"]}


@pytest.mark.parametrize(
    ("message", "registered", "call_back", "urgent", "not_said"),
    [
        (
            "我要投诉，你们乱扣费",
            "已登记",
            "1个工作日内致电",
            "7×24小时客服热线95388",
            "正在为您转接",
        ),
        ("轉人工", "已登記", "1個工作日內致電", "7×24小時客服熱線95388", "正在為您轉接"),
        (
            "I want to speak to a real person",
            "registered",
            "within 1 working day",
            "24/7 hotline 95388",
            "passing you",
        ),
    ],
    ids=["zh-CN", "zh-TW", "en"],
)
def test_the_reply_says_the_request_is_registered_and_when_the_bank_will_call(
    url: str, message: str, registered: str, call_back: str, urgent: str, not_said: str
) -> None:
    body = chat(url, message)
    answer, reference = body["answer"], body["handoff"]["reference"]
    assert answer.count(reference) == 1
    assert registered in answer and call_back in answer and urgent in answer
    assert not_said not in answer.split(reference)[0]  # no promise of a transfer under way
    assert "2" in answer and "15" in answer  # a complaint's first contact and its decision


def test_a_customers_handoff_reaches_the_queue_and_is_taken_and_closed(url: str) -> None:
    body = chat(url, "我要投诉，网点乱收费，我的手机号13812345678")
    reference = body["handoff"]["reference"]
    waiting = queued(url, "open")[reference]
    assert (waiting["kind"], waiting["state"], waiting["assignee"]) == ("complaint", "open", None)
    assert waiting["session_id"] == body["session_id"]
    assert "乱收费" in waiting["question"] and "13812345678" not in waiting["question"]
    taken = call(url, TELLER, "POST", f"/v1/handoffs/{reference}/assign", assignee="柜员张三")
    assert taken.status_code == 200, taken.text[:300]
    assert (taken.json()["state"], taken.json()["assignee"]) == ("assigned", "柜员张三")
    assert reference not in queued(url, "open") and reference in queued(url, "assigned")
    closed = call(url, ADMIN, "POST", f"/v1/handoffs/{reference}/close", resolution="已退费")
    assert closed.status_code == 200, closed.text[:300]
    assert (closed.json()["state"], closed.json()["resolution"]) == ("closed", "已退费")
    assert closed.json()["closed_at"] is not None
    # The customer reads their own session back and finds the hand-off closed.
    session = call(url, APP, "GET", f"/v1/sessions/{body['session_id']}").json()
    assert session["handoffs"] == [
        {"reference": reference, "kind": "complaint", "status": "closed"}
    ]


def test_a_closed_handoff_stays_closed_and_mistakes_get_clear_answers(url: str) -> None:
    reference = chat(url, "转人工")["handoff"]["reference"]
    close = f"/v1/handoffs/{reference}/close"
    assert call(url, TELLER, "POST", close, resolution="已回电").status_code == 200
    again = call(url, TELLER, "POST", close, resolution="再次关闭")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "handoff_closed"
    assert "已关闭" in again.json()["error"]["message"]
    taken = call(url, TELLER, "POST", f"/v1/handoffs/{reference}/assign", assignee="柜员李四")
    assert taken.status_code == 409
    missing = call(url, TELLER, "POST", "/v1/handoffs/H20000101ABCDEF/assign", assignee="李四")
    assert missing.status_code == 404 and "H20000101ABCDEF" in missing.text
    open_one = chat(url, "转人工")["handoff"]["reference"]
    blank = call(url, TELLER, "POST", f"/v1/handoffs/{open_one}/close", resolution="   ")
    assert blank.status_code == 422 and "处理结果" in blank.json()["error"]["message"]
    assert call(url, TELLER, "GET", "/v1/handoffs?state=pending").status_code == 422
    assert queued(url, "open")[open_one]["state"] == "open"  # nothing was changed


@pytest.mark.parametrize("credential", [APP, INTRANET, "employee token"])
def test_only_tellers_and_administrators_work_the_queue(url: str, credential: str) -> None:
    reference = chat(url, "转人工")["handoff"]["reference"]
    who = employee_token() if credential == "employee token" else credential
    for method, path, body in (
        ("GET", "/v1/handoffs?state=open", {}),
        ("POST", f"/v1/handoffs/{reference}/assign", {"assignee": "我自己"}),
        ("POST", f"/v1/handoffs/{reference}/close", {"resolution": "自己关掉"}),
    ):
        refused = call(url, who, method, path, **body)
        assert refused.status_code == 403, (method, path, refused.text[:200])
        message = refused.json()["error"]["message"]
        assert "仅供柜员和管理员使用" in message and "tellers and administrators only" in message
    assert call(url, None, "GET", "/v1/handoffs").status_code == 401
    assert queued(url, "open")[reference]["assignee"] is None
    assert reference in {
        h["reference"] for h in call(url, ADMIN, "GET", "/v1/handoffs").json()["handoffs"]
    }
