"""The chat widget as people who use chat products expect it, on a desktop and on a phone,
in a real browser against the real server: answers read as formatted text with their sources
a tap away, a first screen that says what to ask, staff answers marked as internal, nothing
typed lost to a reload or a failed send, a hand-off reference to copy, a reason asked for a
thumbs down, controls a thumb and a screen reader can use, and a clean axe-core scan."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import Browser, Locator, Page, Request, Route, expect

from assistant.channels.api.web import HOSTS
from assistant.memory.store import ConversationStore
from assistant.settings import Settings
from tests.browser import VIEWPORTS, new_page, screenshot, serious_violations
from tests.channels.test_browser import (
    ANSWER_TIMEOUT_MS,
    PRICING_AUTHORITY,
    PRICING_QUESTION,
    demo_token,
    open_widget,
)

SCREENS = list(VIEWPORTS)
PERSONAS = list(HOSTS)
STAFF_BADGE = "内部，勿告知客户"
DUAL_RECORDING = "哪些情形必须双录？"  # answered from a staff procedure, as a bullet list
LARGE_CD_QUESTION = "大额存单起存金额是多少？"  # answered from a public product sheet
HANDOFF_REQUEST = "我要投诉，转人工"  # guardrails/input.yaml: the input.handoff rail


def sent_questions(page: Page) -> list[str]:
    """Every question the page sends to /v1/chat from now on, in order."""
    questions: list[str] = []

    def record(request: Request) -> None:
        if request.url.endswith("/v1/chat") and request.method == "POST":
            questions.append(request.post_data_json["message"])

    page.on("request", record)
    return questions


def ask(page: Page, question: str) -> tuple[Locator, dict[str, Any]]:
    """Sends the question as a person does and waits for the whole turn: the answer's bubble,
    and the turn as the server sent it."""
    with page.expect_response(re.compile(r"/v1/chat$")) as chat:
        page.locator("#jl-widget-input").fill(question)
        page.locator("#jl-widget-input").press("Enter")
    answer = page.locator(".jl-msg-assistant[aria-busy]").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#jl-widget-messages")).to_have_attribute("aria-busy", "false")
    return answer, done_event(chat.value.text())


def done_event(stream: str) -> dict[str, Any]:
    events = [block for block in stream.split("\n\n") if block.startswith("event: done")]
    assert len(events) == 1, stream
    return dict(json.loads(events[0].split("data: ", 1)[1]))


def assert_tappable(control: Locator, screen: str) -> None:
    """At least 44x44 px on a phone, for a thumb; 24x24 on a desktop (WCAG 2.5.8)."""
    smallest = 44 if screen == "phone" else 24
    box = control.bounding_box()
    assert box and box["width"] >= smallest and box["height"] >= smallest, (screen, box)


def panel_text(page: Page) -> str:
    return str(page.locator("#jl-widget-panel").text_content())


def stand_in_turn(answer: str, citations: int) -> str:
    """A streamed turn as the server sends one, for what the knowledge base cannot be made to
    say (a table, every list style, hostile markup)."""
    turn = {
        "answer": answer,
        "citations": [
            {
                "n": n,
                "doc_id": f"doc-{n}",
                "title": f"资料{n}",
                "section": "",
                "passage": f"第{n}份资料的原文",
                "chunk_id": f"doc-{n}#0",
                "effective_from": None,
                "effective_to": None,
                "audience": "public",
            }
            for n in range(1, citations + 1)
        ],
        "session_id": "s1",
        "turn_id": "t1",
        "language": "zh",
        "grounded": True,
        "action": "allow",
    }
    return f"event: done\ndata: {json.dumps(turn, ensure_ascii=False)}\n\n"


# --- 1. answers are formatted, safely, with their markers linked to the sources -------------


def test_an_answer_renders_paragraphs_lists_bold_and_tables_as_text(
    page: Page, server: str
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    answer_text = "\n".join(
        [
            "根据《资料》：起存金额为**20万元**[1]。",
            "",
            "- 第一项",
            "* 第二项[2]",
            "",
            "1. 填写申请表",
            "2. 提交材料",
            "（1）携带身份证",
            "（2）到网点办理",
            "",
            "| 期限 | 利率 |",
            "| --- | --- |",
            "| 1年 | 1.50% |",
            "| 3年 | 1.90% |",
            "",
            f"**{hostile}** 年利率1.5%，[7]不是来源。",
        ]
    )
    page.route(
        "**/v1/chat",
        lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body=stand_in_turn(answer_text, 2)
        ),
    )
    open_widget(page, f"{server}/widget/demo/employee")
    answer, _ = ask(page, "测试")
    text = answer.locator(".jl-text")

    expect(text.locator("p").first).to_have_text("根据《资料》：起存金额为20万元1。")
    expect(text.locator("p").first.locator("strong")).to_have_text("20万元")
    expect(text.locator("ul > li")).to_have_text(["第一项", "第二项2"])
    expect(text.locator("ol").nth(0).locator("li")).to_have_text(["填写申请表", "提交材料"])
    expect(text.locator("ol").nth(1).locator("li")).to_have_text(["携带身份证", "到网点办理"])
    expect(text.locator("th")).to_have_text(["期限", "利率"])
    expect(text.locator("tbody tr")).to_have_count(2)
    expect(text.locator("tbody tr").nth(1).locator("td")).to_have_text(["3年", "1.90%"])
    # Markup in the answer stays text, even inside bold; "1.5%" is no list, [7] no source.
    expect(text.locator("p").last.locator("strong")).to_have_text(hostile)
    expect(text.locator("p").last).to_contain_text("年利率1.5%，[7]不是来源。")
    assert page.locator("#jl-widget-panel img").count() == 0
    assert page.evaluate("window.pwned") is None
    assert "**" not in str(text.text_content())

    # Each marker of a real source is a button that opens that source.
    markers = text.locator("button.jl-cite")
    expect(markers).to_have_text(["1", "2"])
    expect(markers.nth(1)).to_have_accessible_name("查看来源 2")
    second = answer.locator(".jl-citation").nth(1)
    expect(second.locator(".jl-passage")).to_be_hidden()
    markers.nth(1).click()
    expect(second.locator(".jl-passage")).to_be_visible()
    expect(second.locator(".jl-passage")).to_have_text("第2份资料的原文")
    expect(second.locator("summary")).to_be_focused()
    expect(answer.locator(".jl-citation").first.locator(".jl-passage")).to_be_hidden()


def test_a_real_answers_list_and_marker_render_from_the_knowledge_base(
    page: Page, server: str
) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    answer, turn = ask(page, DUAL_RECORDING)
    bullets = [line[2:] for line in turn["answer"].splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3, turn["answer"]  # the procedure's list, as the server wrote it
    items = answer.locator(".jl-text li")
    expect(items).to_have_count(len(bullets))
    expect(items.first).to_have_text(bullets[0])
    marker = answer.locator(".jl-text button.jl-cite").first
    expect(marker).to_have_text("1")
    marker.click()
    passage = answer.locator(".jl-citation").first.locator(".jl-passage")
    expect(passage).to_be_visible()
    expect(passage.locator("li").first).to_be_visible()  # the document's own list, as a list
    assert "\n- " not in str(passage.inner_text())


# --- 2. an empty panel greets by role and offers questions it can answer ---------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_empty_panel_greets_by_role_and_asks_an_example_when_tapped(
    page: Page, server: str, persona: str, screen: str
) -> None:
    open_widget(page, f"{server}/widget/demo/{persona}")
    empty = page.locator(".jl-empty")
    examples = HOSTS[persona].examples
    expect(empty.locator("button.jl-example")).to_have_text(list(examples))
    for example in empty.locator("button.jl-example").all():
        assert_tappable(example, screen)
    subtitle = page.locator("#jl-widget-panel .jl-subtitle")
    if persona == "employee":
        expect(subtitle).to_have_text("内网专用")
        expect(empty).to_contain_text("内部制度")
    else:
        expect(subtitle).to_have_text("江澜银行 在线客服助手")
        expect(empty).to_contain_text("在线客服助手")
        assert "内网" not in panel_text(page) and "内部" not in panel_text(page)

    with page.expect_request(re.compile(r"/v1/chat$")) as chat:
        empty.locator("button.jl-example").nth(1).click()
    assert chat.value.post_data_json["message"] == examples[1]
    expect(page.locator(".jl-msg-user")).to_have_text([examples[1]])
    expect(page.locator(".jl-empty")).to_have_count(0)
    answer = page.locator(".jl-msg-assistant[aria-busy]").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(answer.locator(".jl-citation").first).to_be_visible()

    page.locator("#jl-widget-panel .jl-new").click()
    expect(page.locator(".jl-msg-user")).to_have_count(0)
    expect(page.locator(".jl-empty button.jl-example")).to_have_count(len(examples))


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_example_question_is_answered_from_the_knowledge_base(
    server: str, persona: str
) -> None:
    token = demo_token(server, persona)
    for question in HOSTS[persona].examples:
        turn = httpx.post(
            f"{server}/v1/chat",
            json={"message": question},
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ).json()
        assert turn["grounded"] and turn["decline_reason"] is None, (question, turn["answer"])
        assert turn["citations"], question
        if persona == "customer":
            assert {c["audience"] for c in turn["citations"]} == {"public"}, question


# --- 3. an answer that rests on staff documents says so --------------------------------------


def test_an_answer_from_staff_documents_is_marked_internal(page: Page, server: str) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    internal, turn = ask(page, PRICING_QUESTION)
    assert PRICING_AUTHORITY in {c["doc_id"] for c in turn["citations"]}
    expect(internal.locator(".jl-staff")).to_have_text(STAFF_BADGE)
    expect(internal.locator(".jl-staff")).to_be_visible()

    public, turn = ask(page, LARGE_CD_QUESTION)
    assert {c["audience"] for c in turn["citations"]} == {"public"}
    expect(public.locator(".jl-staff")).to_have_count(0)

    # A customer's widget is never given the staff document, so never shows the badge.
    open_widget(page, f"{server}/widget/demo/customer")
    ask(page, PRICING_QUESTION)
    assert STAFF_BADGE not in panel_text(page)


# --- 4. work is not lost -----------------------------------------------------------------------


def test_a_reload_brings_back_the_conversation_and_the_draft(
    browser: Browser, page: Page, server: str
) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    answered, turn = ask(page, PRICING_QUESTION)
    cited = [c.get_attribute("data-doc-id") for c in answered.locator(".jl-citation").all()]
    page.locator("#jl-widget-input").fill("那么支行呢")  # typed, not sent

    visitor = page_subject(page)
    page.reload(wait_until="load")
    # The demo host keeps its visitor in a cookie of its own, out of the page's scripts' reach.
    assert page_subject(page) == visitor
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "jl_demo_employee"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    expect(page.locator("#jl-widget-panel")).to_be_visible()  # it was open
    expect(page.locator(".jl-msg-user")).to_have_text([PRICING_QUESTION])
    restored = page.locator(".jl-msg-assistant").last
    expect(restored).to_have_attribute("data-turn-id", turn["turn_id"])
    expect(restored.locator(".jl-citation")).to_have_count(len(cited))
    assert [c.get_attribute("data-doc-id") for c in restored.locator(".jl-citation").all()] == cited
    expect(restored.locator(".jl-staff")).to_have_text(STAFF_BADGE)
    expect(restored.locator(".jl-feedback-up")).to_be_visible()
    expect(page.locator("#jl-widget-input")).to_have_value("那么支行呢")
    expect(page.locator(".jl-empty")).to_have_count(0)

    # The conversation goes on in the same session, as the same visitor.
    with page.expect_request(re.compile(r"/v1/chat$")) as follow_up:
        page.locator("#jl-widget-send").click()
    assert follow_up.value.post_data_json["session_id"] == turn["session_id"]
    expect(page.locator(".jl-msg-user")).to_have_text([PRICING_QUESTION, "那么支行呢"])

    # Someone else on a browser of their own starts afresh.
    stranger = new_page(browser, "desktop")
    open_widget(stranger, f"{server}/widget/demo/employee")
    expect(stranger.locator(".jl-empty")).to_be_visible()
    expect(stranger.locator(".jl-msg-user")).to_have_count(0)
    stranger.context.close()


def page_subject(page: Page) -> str:
    """Who the host page signed in: its token's subject."""
    token = page.locator("script[src='/widget.js']").get_attribute("data-token")
    return str(jwt.decode(str(token), options={"verify_signature": False})["sub"])


def unavailable(route: Route) -> None:
    route.fulfill(
        status=503,
        content_type="application/json",
        body=json.dumps({"error": {"code": "unavailable", "message": "index not built"}}),
    )


def rate_limited(message: str) -> Any:
    def reply(route: Route) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "42"},
            content_type="application/json",
            body=json.dumps({"error": {"code": "rate_limited", "message": message}}),
        )

    return reply


def signed_out(route: Route) -> None:
    # The real server's answer to a token it refuses.
    route.continue_(headers={**route.request.headers, "authorization": "Bearer a.b.c"})


FAILURES: dict[str, tuple[Any, str]] = {
    "network": (
        lambda route: route.abort("internetdisconnected"),
        "网络连接中断，请检查网络后点重试。",
    ),
    "unavailable": (unavailable, "服务暂时不可用，请稍后点重试。"),
    "rate-limited": (rate_limited("提问太频繁，请 42 秒后再试。"), "提问太频繁，请 42 秒后再试。"),
    "rate-limited-in-english": (
        rate_limited("too many requests; try again in 42 s"),
        "提问过于频繁，请 42 秒后点重试。",
    ),
    "signed-out": (signed_out, "登录已失效，请刷新页面重新登录后再试。"),
}


def test_a_rated_answer_read_back_after_a_reload_is_not_rated_again(
    page: Page, server: str, settings: Settings
) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    answered, turn = ask(page, LARGE_CD_QUESTION)
    with page.expect_response(re.compile(r"/v1/feedback$")):
        answered.locator(".jl-feedback-up").click()
    page.reload(wait_until="load")
    restored = page.locator(f'.jl-msg-assistant[data-turn-id="{turn["turn_id"]}"]')
    expect(restored.locator(".jl-feedback-up")).to_be_disabled()
    expect(restored.locator(".jl-feedback-up")).to_have_attribute("aria-pressed", "true")
    expect(restored.locator(".jl-feedback-down")).to_be_disabled()
    expect(restored.locator(".jl-feedback-done")).to_be_visible()
    assert ConversationStore(settings.database()).feedback_for(turn["turn_id"]) == [("up", "")]


@pytest.mark.parametrize("failure", list(FAILURES))
def test_a_failed_send_keeps_the_question_and_retry_sends_it_again(
    page: Page, server: str, failure: str, screen: str
) -> None:
    breaks, message = FAILURES[failure]
    failed: list[str] = []

    def first_fails(route: Route) -> None:
        if failed:
            route.continue_()
        else:
            failed.append(route.request.post_data_json["message"])
            breaks(route)

    page.route("**/v1/chat", first_fails)
    sent = sent_questions(page)
    open_widget(page, f"{server}/widget/demo/customer")
    page.locator("#jl-widget-input").fill(LARGE_CD_QUESTION)
    page.locator("#jl-widget-input").press("Enter")
    error = page.locator(".jl-error")
    expect(error.locator("span")).to_have_text(message)
    # What the server says to a refused token is for developers, in English: never shown.
    refusal = httpx.post(
        f"{server}/v1/chat",
        json={"message": LARGE_CD_QUESTION},
        headers={"Authorization": "Bearer a.b.c"},
        timeout=30,
    ).json()["error"]["message"]
    assert refusal not in panel_text(page)
    expect(page.locator("#jl-widget-input")).to_have_value(LARGE_CD_QUESTION)
    expect(page.locator(".jl-msg-user")).to_have_text([LARGE_CD_QUESTION])
    expect(page.locator("#jl-widget-send")).to_be_enabled()

    retry = error.get_by_role("button", name="重试")
    assert_tappable(retry, screen)
    retry.click()
    answer = page.locator(".jl-msg-assistant[aria-busy]").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=ANSWER_TIMEOUT_MS)
    expect(answer.locator(".jl-citation").first).to_be_visible()
    expect(page.locator(".jl-error")).to_have_count(0)
    expect(page.locator(".jl-msg-user")).to_have_text([LARGE_CD_QUESTION])
    expect(page.locator("#jl-widget-input")).to_have_value("")
    assert failed == [LARGE_CD_QUESTION] and sent == [LARGE_CD_QUESTION, LARGE_CD_QUESTION]


# --- 5. a hand-off: the reference once, and a button to copy it ----------------------------


def test_a_handoff_shows_its_reference_once_and_copies_it(
    page: Page, server: str, screen: str
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    open_widget(page, f"{server}/widget/demo/customer")
    answer, turn = ask(page, HANDOFF_REQUEST)
    reference = turn["handoff"]["reference"]
    assert reference in turn["answer"] and turn["handoff"]["next_steps"] in turn["answer"]
    box = answer.locator(".jl-handoff")
    expect(box).to_contain_text("已登记人工服务")
    assert panel_text(page).count(reference) == 1
    assert panel_text(page).count(turn["handoff"]["next_steps"]) == 1

    copy = box.get_by_role("button", name="复制单号")
    assert_tappable(copy, screen)
    copy.click()
    expect(box.locator("[role=status]")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == reference

    # Read back after a reload, the hand-off is still one reference with its copy button.
    page.reload(wait_until="load")
    restored = page.locator(".jl-msg-assistant").last
    expect(restored.locator(".jl-handoff")).to_contain_text("已登记人工服务")
    assert panel_text(page).count(reference) == 1


# --- 6. a thumbs down asks why ---------------------------------------------------------------


def test_a_thumbs_down_asks_for_a_reason_and_stores_it(
    page: Page, server: str, settings: Settings
) -> None:
    open_widget(page, f"{server}/widget/demo/employee")
    answer, turn = ask(page, LARGE_CD_QUESTION)
    answer.locator(".jl-feedback-down").click()
    form = answer.locator("form.jl-reason")
    expect(form.get_by_role("radio")).to_have_count(4)
    for reason in ("答案不正确", "没有回答我的问题", "引用来源不对", "其他"):
        expect(form.get_by_label(reason)).to_be_visible()
    send = form.get_by_role("button", name="提交")
    expect(send).to_be_disabled()  # not without a reason

    form.get_by_label("引用来源不对").check()
    form.get_by_label("补充说明（选填）").fill("应引用2027年第一期")
    with page.expect_response(re.compile(r"/v1/feedback$")) as sent:
        send.click()
    assert sent.value.status == 201
    comment = "引用来源不对: 应引用2027年第一期"
    assert sent.value.request.post_data_json == {
        "turn_id": turn["turn_id"],
        "rating": "down",
        "comment": comment,
    }
    expect(answer.locator(".jl-feedback-done")).to_have_text("谢谢反馈")
    expect(form).to_have_count(0)
    expect(answer.locator(".jl-feedback-up")).to_be_disabled()
    assert ConversationStore(settings.database()).feedback_for(turn["turn_id"]) == [
        ("down", comment)
    ]


# --- 7. controls for a thumb, a screen reader and a Chinese input method ---------------------


def test_enter_that_confirms_an_input_method_word_does_not_send(page: Page, server: str) -> None:
    sent = sent_questions(page)
    open_widget(page, f"{server}/widget/demo/customer")
    page.locator("#jl-widget-input").fill("大额存单")
    for composing in ("{isComposing: true}", "{}"):
        # Chromium reports keyCode 229 for a key an input method takes; the second event says so.
        page.evaluate(
            f"""() => {{
                const enter = new KeyboardEvent('keydown',
                    {{key: 'Enter', bubbles: true, cancelable: true, ...{composing}}});
                Object.defineProperty(enter, 'keyCode', {{get: () => 229}});
                document.querySelector('#jl-widget-input').dispatchEvent(enter);
            }}"""
        )
    expect(page.locator("#jl-widget-input")).to_have_value("大额存单")
    expect(page.locator(".jl-msg-user")).to_have_count(0)
    assert sent == []

    page.locator("#jl-widget-input").press("Enter")  # a plain Enter does send
    expect(page.locator(".jl-msg-user")).to_have_text(["大额存单"])
    assert sent == ["大额存单"]


def contrast(foreground: str, background: str) -> float:
    def luminance(css: str) -> float:
        red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_controls_are_named_in_chinese_large_enough_and_readable(
    page: Page, server: str, screen: str
) -> None:
    page.goto(f"{server}/widget/demo/employee", wait_until="load")
    bubble = page.get_by_role("button", name="打开江澜银行助手")
    assert_tappable(bubble, screen)
    bubble.click()
    for name in ("关闭", "新对话", "发送"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("textbox", name="输入问题")).to_be_focused()

    answer, _ = ask(page, DUAL_RECORDING)
    answer.locator(".jl-feedback-down").click()  # the reason form's controls too
    controls = page.locator(
        "#jl-widget-panel button:visible, #jl-widget-panel summary:visible, "
        "#jl-widget-panel textarea:visible, #jl-widget-panel .jl-reason label:visible"
    ).all()
    assert len(controls) >= 12
    for control in controls:
        name = control.evaluate("e => e.getAttribute('aria-label') || e.textContent")
        assert re.search(r"[\u4e00-\u9fff]|^\d+$", name.strip()), name
        if control.evaluate("e => e.classList.contains('jl-cite')"):
            continue  # a marker inside a sentence: WCAG 2.5.8's inline exception
        assert_tappable(control, screen)

    # Text fields at 16px, so that iOS does not zoom in; a placeholder that can be read.
    for field in page.locator("#jl-widget-panel textarea").all():
        assert field.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
    placeholder = page.evaluate(
        "getComputedStyle(document.querySelector('#jl-widget-input'), '::placeholder').color"
    )
    assert contrast(placeholder, "rgb(255, 255, 255)") >= 4.5, placeholder

    # On a phone the panel fills the screen the browser leaves it (dvh), and fits in it.
    panel = page.locator("#jl-widget-panel").bounding_box()
    viewport = VIEWPORTS[screen]["viewport"]
    assert panel and panel["y"] >= 0 and panel["y"] + panel["height"] <= viewport["height"]
    heights = page.evaluate(
        """() => [...document.getElementById('jl-widget-style').sheet.cssRules]
                 .flatMap(r => r.cssRules ? [...r.cssRules] : [r])
                 .filter(r => r.selectorText === '#jl-widget-panel')
                 .map(r => r.style.height + ' ' + r.style.maxHeight)"""
    )
    assert any("100dvh" in h for h in heights), heights
    if screen == "phone":
        assert panel["height"] >= viewport["height"] - 16 - 1


# --- 8. axe-core finds nothing serious, closed, open and answered ----------------------------


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_demo_pages_pass_axe_closed_open_and_answered(
    page: Page, server: str, persona: str, screen: str
) -> None:
    page.goto(f"{server}/widget/demo/{persona}", wait_until="load")
    expect(page.locator("#jl-widget-bubble")).to_be_visible()
    assert serious_violations(page) == [], "closed"

    page.locator("#jl-widget-bubble").click()
    expect(page.locator(".jl-empty")).to_be_visible()
    assert serious_violations(page) == [], "open"
    screenshot(page, f"widget-{persona}-{screen}-empty")

    question = PRICING_QUESTION if persona == "employee" else "借记卡丢了怎么挂失？"
    answer, _ = ask(page, question)
    expect(answer.locator(".jl-citation").first).to_be_visible()
    answer.locator(".jl-cite").first.click()  # a source opened, as a reader would
    assert serious_violations(page) == [], "answered"
    screenshot(page, f"widget-{persona}-{screen}")


# --- the widget speaks the page's language --------------------------------------------------


def test_on_an_english_page_the_widget_speaks_english(page: Page, server: str) -> None:
    """The demo host page with its language tag changed to English, by the browser."""

    def in_english(route: Route) -> None:
        host = route.fetch()
        route.fulfill(response=host, body=host.text().replace('lang="zh-CN"', 'lang="en"'))

    page.route("**/widget/demo/employee", in_english)
    page.route("**/v1/chat", lambda route: route.abort("internetdisconnected"))
    page.goto(f"{server}/widget/demo/employee", wait_until="load")
    page.get_by_role("button", name="Open the assistant").click()
    expect(page.locator("#jl-widget-panel .jl-subtitle")).to_have_text("Intranet only")
    expect(page.get_by_role("textbox", name="Your question")).to_be_focused()
    page.locator("#jl-widget-input").fill("How much is the minimum for a large CD?")
    page.get_by_role("button", name="Send", exact=True).click()
    error = page.locator(".jl-error")
    expect(error.locator("span")).to_have_text("The connection dropped: check it and retry.")
    expect(error.get_by_role("button", name="Retry")).to_be_visible()
    assert not re.search(r"[\u4e00-\u9fff]", str(page.locator(".jl-composer").text_content()))
