"""The intranet chat widget in a real browser (Debian's Chromium, driven by Playwright) against
the real server: the host page's signed token is the only identity, answers stream in with
their sources, feedback is stored, and a customer's widget never shows staff documents."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Browser, Locator, Page, Route, expect

from assistant.memory.store import ConversationStore
from assistant.settings import Settings
from tests.browser import new_page, screenshot
from tests.channels.test_channels import sse_events
from tests.conftest import KNOWLEDGE

ANSWER_TIMEOUT_MS = 120_000
LARGE_CD = "dep-large-cd-2026-01"
PRICING_AUTHORITY = "staff-cd-pricing-authority"
PRICING_QUESTION = "分行最多可以给大额存单利率上浮多少个基点？"
PRICING_RULE = "最多上浮10个基点"  # the staff document's answer, in its own words


def front_matter(path: Path) -> dict[str, Any]:
    _, header, _ = path.read_text(encoding="utf-8").split("---", 2)
    return dict(yaml.safe_load(header))


# Every staff-only document's title, read from the documents themselves.
STAFF_TITLES: dict[str, str] = {
    meta["id"]: meta["title"]
    for meta in map(front_matter, sorted((KNOWLEDGE / "policies").glob("staff-*.md")))
    if meta["audience"] == "staff"
}


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser, "desktop")
    yield page
    page.context.close()


def open_widget(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    page.locator("#jl-widget-bubble").click()
    expect(page.locator("#jl-widget-panel")).to_be_visible()
    expect(page.locator("#jl-widget-input")).to_be_focused()


def ask(page: Page, question: str) -> Locator:
    """Types the question, sends it with Enter and waits for the whole turn; the answer."""
    page.locator("#jl-widget-input").fill(question)
    page.locator("#jl-widget-input").press("Enter")
    expect(page.locator(".jl-msg-user").last).to_have_text(question)
    answer = page.locator(".jl-msg-assistant[aria-busy]").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#jl-widget-messages")).to_have_attribute("aria-busy", "false")
    return answer


def demo_token(server: str, persona: str) -> str:
    """The token a demo host page hands its widget."""
    page = httpx.get(f"{server}/widget/demo/{persona}", timeout=30).text
    found = re.search(r'<script src="/widget.js" data-token="([^"]+)"', page)
    assert found, page
    return found.group(1)


def session_of(server: str, session_id: str, token: str) -> httpx.Response:
    return httpx.get(
        f"{server}/v1/sessions/{session_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def cited_doc_ids(answer: Locator) -> list[str]:
    return [str(c.get_attribute("data-doc-id")) for c in answer.locator(".jl-citation").all()]


def test_an_employee_asks_reads_the_sources_and_rates_the_answer(
    page: Page, server: str, settings: Settings
) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    expect(page.locator("header")).to_contain_text("当前用户：王敏")
    token = page.locator("script[src='/widget.js']").get_attribute("data-token")
    assert token and token.count(".") == 2

    with page.expect_response(f"{server}/v1/chat") as chat:
        answer = ask(page, "大额存单起存金额是多少？")
    request = chat.value.request
    assert request.headers["authorization"] == f"Bearer {token}"
    assert request.post_data_json == {"message": "大额存单起存金额是多少？", "stream": True}
    events = sse_events(chat.value.text())
    assert [name for name, _ in events].count("delta") >= 1
    assert events[-1][0] == "done"
    turn = events[-1][1]

    # The streamed text is replaced by the final answer, exactly (its marker [1] a button
    # that reads "1"), with its sources under it.
    expect(answer.locator(".jl-citation").first).to_be_visible()
    assert answer.locator(".jl-text").text_content() == re.sub(r"\[(\d+)\]", r"\1", turn["answer"])
    assert "20万" in turn["answer"]
    assert cited_doc_ids(answer)[0] == LARGE_CD
    first = answer.locator(".jl-citation").first
    expect(first).to_contain_text(f"[1] {turn['citations'][0]['title']}")
    expect(first.locator(".jl-passage")).to_be_hidden()
    first.locator("summary").click()
    expect(first.locator(".jl-passage")).to_be_visible()
    expect(first.locator(".jl-passage")).to_contain_text("20万元")
    expect(page.locator(".jl-error")).to_have_count(0)

    with page.expect_response(f"{server}/v1/feedback") as feedback:
        answer.locator(".jl-feedback-up").click()
    assert feedback.value.status == 201
    assert feedback.value.request.post_data_json == {
        "turn_id": turn["turn_id"],
        "rating": "up",
        "comment": "",
    }
    expect(answer.locator(".jl-feedback-done")).to_have_text("谢谢反馈")
    expect(answer.locator(".jl-feedback-up")).to_be_disabled()
    expect(answer.locator(".jl-feedback-down")).to_be_disabled()
    screenshot(page, "widget-employee")

    # The page's token owns the session: the turn is there, and the rating is stored against it.
    stored = session_of(server, turn["session_id"], token)
    assert stored.status_code == 200
    assert [t["turn_id"] for t in stored.json()["turns"]] == [turn["turn_id"]]
    assert stored.json()["turns"][0]["role"] == "employee"
    assert ConversationStore(settings.database()).feedback_for(turn["turn_id"]) == [("up", "")]
    someone_else = demo_token(server, "customer")
    assert session_of(server, turn["session_id"], someone_else).status_code == 404

    # A follow-up continues the same session.
    with page.expect_request(f"{server}/v1/chat") as follow_up:
        ask(page, "大额存单可以转让吗？")
    assert follow_up.value.post_data_json["session_id"] == turn["session_id"]


def test_a_customer_widget_never_shows_staff_documents(page: Page, server: str) -> None:
    assert PRICING_AUTHORITY in STAFF_TITLES

    open_widget(page, f"{server}/widget/demo/customer")
    customer = ask(page, PRICING_QUESTION)
    expect(page.locator(".jl-error")).to_have_count(0)
    in_page = str(customer.text_content())  # collapsed passages included
    assert not set(cited_doc_ids(customer)) & STAFF_TITLES.keys()
    assert not [title for title in STAFF_TITLES.values() if title in in_page]
    assert PRICING_RULE not in in_page
    screenshot(page, "widget-customer")

    # The same question from an employee's page does reach the staff document: the test can fail.
    open_widget(page, f"{server}/widget/demo/employee")
    employee = ask(page, PRICING_QUESTION)
    assert PRICING_AUTHORITY in cited_doc_ids(employee)
    assert PRICING_RULE in str(employee.text_content())
    expect(employee.locator(".jl-citations")).to_contain_text(STAFF_TITLES[PRICING_AUTHORITY])


def test_server_text_is_shown_as_text_and_errors_as_a_plain_message(
    page: Page, server: str
) -> None:
    """The widget's own handling, with the server's replies stood in for by the browser."""
    hostile = '<img src=x onerror="window.pwned=1">'
    turn = {
        "answer": f"答复 {hostile}",
        "citations": [{"n": 1, "doc_id": "x", "title": hostile, "passage": hostile}],
        "session_id": "s1",
        "turn_id": "t1",
        "language": "zh",
        "grounded": True,
        "action": "allow",
    }
    stream = "".join(
        f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        for name, data in [("delta", {"text": hostile}), ("done", turn)]
    )
    replies = [
        {"status": 200, "content_type": "text/event-stream", "body": stream},
        {
            "status": 429,
            "content_type": "application/json",
            "body": json.dumps({"error": {"code": "rate_limited", "message": "请稍后再试 42 s"}}),
        },
    ]

    def reply(route: Route) -> None:
        route.fulfill(**replies.pop(0))

    page.route("**/v1/chat", reply)
    open_widget(page, f"{server}/widget/demo/employee")
    answer = ask(page, "测试")
    expect(answer.locator(".jl-text")).to_have_text(f"答复 {hostile}")
    expect(answer.locator(".jl-citation summary")).to_have_text(f"[1] {hostile}")
    assert page.locator("#jl-widget-panel img").count() == 0
    assert page.evaluate("window.pwned") is None

    page.locator("#jl-widget-input").fill("再问一次")
    page.locator("#jl-widget-send").click()
    expect(page.locator(".jl-error span")).to_have_text("请稍后再试 42 s")  # Chinese: kept
    expect(page.locator("#jl-widget-send")).to_be_enabled()
    assert not replies
