"""The teller console in a real browser (Debian's Chromium, Playwright) against the real
server, on a teller's desktop and on a phone: a greeting with questions to start from,
answers that keep their sources and open the passage they quote, a profile form that checks
itself in Chinese beside the conversation, suggestions that show every fitting product with
its own sheet, work that survives a reload and a restart of the server, and no serious
accessibility finding (axe-core)."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from playwright.sync_api import Browser, Locator, Page, Route, expect

from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.browser import new_page, screenshot, serious_violations
from tests.channels.test_api import free_port, running_server

ANSWER_TIMEOUT_MS = 120_000
CD_QUESTION = "大额存单起存金额是多少？"
CD_SHEET = "dep-large-cd-2026-01"
PENSION_QUESTION = "个人养老金一年最多可以缴存多少钱？"
PRICING_QUESTION = "分行最多可以给大额存单利率上浮多少个基点？"
INTERNAL = "内部，勿告知客户"
AFTER_RESTART = "个人养老金账户每年缴存上限是多少？"
# The sources panel's hint, in the browser's language, once the page has loaded.
READY = re.compile("点击对话中的回答|Select an answer")
# Pictographs (emoji) need a font the bank's desktops do not have.
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


def question_box(page: Page) -> Locator:
    return page.get_by_role("textbox", name="输入问题")


def open_console(page: Page, url: str) -> None:
    page.goto(f"{url}/console/", wait_until="load")
    expect(question_box(page)).to_be_visible(timeout=60_000)
    # The conversation this browser had is read back as the page loads; then it is ready.
    expect(page.locator("#sources")).to_contain_text(READY, timeout=60_000)
    settled(page)


def settled(page: Page) -> None:
    """No event running: Gradio dims what an event is about to change while it runs."""
    expect(page.locator('[data-testid="status-tracker"]:not(.hide)')).to_have_count(0)


def answers(page: Page) -> Locator:
    return page.locator("#chat .bot-row")


def ask(page: Page, question: str) -> Locator:
    """Types the question, sends it and waits for the whole turn; the answer's bubble."""
    before = answers(page).count()
    question_box(page).fill(question)
    page.locator("#send").click()
    expect(answers(page)).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)
    # The box empties once the turn is complete, not while the answer streams in.
    expect(question_box(page)).to_have_value("", timeout=ANSWER_TIMEOUT_MS)
    return answers(page).nth(before)


def no_serious_findings(page: Page) -> None:
    settled(page)
    assert serious_violations(page) == []


def test_an_empty_console_greets_the_teller_and_offers_questions_it_answers(
    page: Page, server: str, screen: str
) -> None:
    open_console(page, server)
    chat = page.locator("#chat")
    expect(chat).to_contain_text("您好，我是江澜银行柜员助手")
    examples = chat.locator(".example")
    expect(examples).to_have_count(4)
    no_serious_findings(page)
    screenshot(page, f"console-empty-{screen}")

    examples.first.click()
    expect(answers(page)).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(answers(page).last).to_contain_text("20万元", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#chat .user-row").first).to_have_text(CD_QUESTION)


def test_each_answer_keeps_its_sources_and_its_marker_opens_the_quoted_passage(
    page: Page, server: str, screen: str
) -> None:
    open_console(page, server)
    first = ask(page, CD_QUESTION)
    second = ask(page, PENSION_QUESTION)
    sources = page.locator("#sources")
    expect(sources).to_contain_text("pension")  # the latest answer's sources
    expect(first).to_contain_text("来源")
    expect(second).to_contain_text("来源")

    # Selecting the earlier answer brings its own sources back, the quoted sentence marked.
    first.locator(".message-content").click(position={"x": 5, "y": 5})
    expect(sources).to_contain_text(CD_SHEET)
    expect(sources.locator("mark").first).to_contain_text("20万元")
    no_serious_findings(page)
    screenshot(page, f"console-sources-{screen}")

    # Its [1] opens the document at the passage, the quoted sentence highlighted.
    with page.context.expect_page() as opened:
        first.get_by_role("link", name="[1]", exact=True).first.click()
    document = opened.value
    document.wait_for_load_state("load")
    assert f"/console/documents/{CD_SHEET}" in document.url
    expect(document.locator("#passage")).to_be_visible()
    expect(document.locator("#passage mark")).to_contain_text("20万元")
    expect(document.locator("h1")).to_contain_text("大额存单")
    assert serious_violations(document) == []


def test_english_answers_speak_english_around_their_sources(
    browser: Browser, server: str, screen: str
) -> None:
    page = new_page(browser, screen, locale="en-US")
    open_console(page, server)
    ask(page, "What is the minimum amount for the 2026 large-denomination CD?")
    sources = page.locator("#sources")
    expect(sources).to_contain_text("In force")
    expect(sources).not_to_contain_text("有效期")
    expect(sources).not_to_contain_text("长期")
    page.context.close()


def test_the_profile_form_checks_itself_in_chinese_beside_the_conversation(
    page: Page, server: str, screen: str
) -> None:
    open_console(page, server)
    page.locator("#aum input").fill("300000")
    page.locator("#available input").fill("500000")
    page.locator("#age input").fill("150")
    page.locator("#age input").blur()
    problems = page.locator("#profile-errors")
    expect(problems).to_contain_text("可投资金额不应大于资产 AUM")
    expect(problems).to_contain_text("年龄应在1至120岁之间")

    # A wrong profile never stops the conversation: the question is answered without it.
    answer = ask(page, CD_QUESTION)
    expect(answer).to_contain_text("20万元")
    expect(problems).to_contain_text("客户资料未用于本轮回答")
    expect(page.locator(".toast-body")).to_have_count(0)
    expect(page.locator("#chat")).to_be_in_viewport()
    no_serious_findings(page)


def test_suggestions_show_every_fitting_product_with_its_own_sheet(
    page: Page, server: str, screen: str
) -> None:
    open_console(page, server)
    page.locator("#aum input").fill("300000")
    page.locator("#available input").fill("250000")
    page.locator("#age input").fill("45")
    page.locator("#horizon input").fill("12")
    page.locator("#risk-level input").click()
    page.get_by_role("option", name="C3").click()
    page.locator("#assessed-on input").fill("2026-03-01")
    page.locator("#assessed-on input").blur()
    ask(page, "这位客户适合买什么产品？")

    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("推荐")
    expect(suggestions).to_contain_text("同样适合")
    expect(suggestions).to_contain_text("大额存单")  # a deposit, not only investments
    links = suggestions.locator("a")
    hrefs = [str(a.get_attribute("href")) for a in links.all()]
    assert hrefs and all(h.startswith("/console/documents/") for h in hrefs)
    assert len(set(hrefs)) == len(hrefs)  # each product its own sheet
    text = suggestions.inner_text()
    assert not EMOJI.search(text), text
    assert "credit_card" not in text and "card-credit" not in text

    # Why the others do not fit is folded away, short, and about savings and investments.
    why_not = suggestions.locator("details")
    expect(why_not.locator("summary")).to_contain_text("为什么不推荐")
    expect(why_not.locator("li").first).to_be_hidden()
    why_not.locator("summary").click()
    reasons = why_not.inner_text()
    assert "信用卡" not in reasons and "贷款" not in reasons
    assert not re.search(r"\b[a-z]+-[a-z0-9-]+\b", reasons), reasons  # no raw product ids
    no_serious_findings(page)
    screenshot(page, f"console-suggestions-{screen}")


def test_staff_answers_are_marked_internal_and_customer_answers_are_not(
    page: Page, server: str
) -> None:
    open_console(page, server)
    staff = ask(page, PRICING_QUESTION)
    expect(staff).to_contain_text(INTERNAL)

    page.get_by_text("客户视角").click()
    expect(answers(page)).to_have_count(0)  # the customer lane is a conversation of its own
    customer = ask(page, PRICING_QUESTION)
    expect(customer).not_to_contain_text(INTERNAL)


def test_a_reload_and_a_server_restart_lose_neither_the_conversation_nor_the_draft(
    browser: Browser, assistant: Assistant, settings: Settings, screen: str
) -> None:
    port = free_port()  # one origin: the browser keeps its storage per origin
    page = new_page(browser, screen)
    with running_server(settings, port=port) as url:
        open_console(page, url)
        ask(page, CD_QUESTION)
        question_box(page).fill("那三年期的呢")
        page.reload(wait_until="load")
        open_console(page, url)
        expect(page.locator("#chat .user-row").first).to_have_text(CD_QUESTION)
        expect(answers(page).first).to_contain_text("20万元")
        expect(question_box(page)).to_have_value("那三年期的呢")

    with running_server(settings, port=port) as url:
        page.reload(wait_until="load")
        open_console(page, url)
        expect(answers(page).first).to_contain_text("20万元")
        expect(question_box(page)).to_have_value("那三年期的呢")
        # The next question continues the same session in the store.
        ask(page, AFTER_RESTART)
    with sqlite3.connect(settings.data_dir / "assistant.db") as db:
        session = db.execute(
            "SELECT question FROM turns WHERE session_id = "
            "(SELECT session_id FROM turns WHERE question = ?) ORDER BY created_at",
            (AFTER_RESTART,),
        ).fetchall()
    assert [q for (q,) in session][-2:] == [CD_QUESTION, AFTER_RESTART]
    page.context.close()


def test_a_disliked_answer_asks_why_and_stores_the_reason(
    page: Page, server: str, settings: Settings
) -> None:
    open_console(page, server)
    answer = ask(page, CD_QUESTION)
    answer.hover()
    page.locator('#chat button[aria-label="踩"]').last.click()
    form = page.locator("#dislike")
    expect(form).to_be_visible()
    form.get_by_text("引用来源不对").click()
    page.locator("#dislike-detail textarea").fill("引用了上一期的说明书")
    page.locator("#dislike-send").click()
    expect(page.locator("#feedback")).to_contain_text("已记录反馈")
    expect(form).to_be_hidden()
    with sqlite3.connect(settings.data_dir / "assistant.db") as db:
        turn_id = db.execute(
            "SELECT t.id FROM turns t JOIN feedback f ON f.turn_id = t.id "
            "WHERE f.comment LIKE '引用来源不对%' ORDER BY f.created_at DESC"
        ).fetchone()[0]
    store = ConversationStore(settings.database())
    assert ("down", "引用来源不对：引用了上一期的说明书") in store.feedback_for(turn_id)


def test_markup_in_a_question_is_shown_as_text_never_run(page: Page, server: str) -> None:
    open_console(page, server)
    hostile = '<img src=x onerror="window.pwned=1">'
    ask(page, f"{hostile}大额存单起存金额是多少？")
    assert page.evaluate("window.pwned") is None
    expect(page.locator("#chat img")).to_have_count(0)
    expect(page.locator("#chat .user-row").first).to_contain_text(hostile)


def test_enter_while_an_input_method_composes_does_not_send(page: Page, server: str) -> None:
    open_console(page, server)
    question_box(page).fill("dae")
    question_box(page).evaluate(
        """box => box.dispatchEvent(new KeyboardEvent("keydown",
             {key: "Enter", keyCode: 229, isComposing: true, bubbles: true}))"""
    )
    page.wait_for_timeout(1000)
    expect(page.locator("#chat .user-row")).to_have_count(0)
    expect(question_box(page)).to_have_value("dae")
    question_box(page).press("Enter")  # an Enter outside composition does send
    expect(page.locator("#chat .user-row")).to_have_count(1)


def test_errors_are_in_the_tellers_language(browser: Browser, server: str, screen: str) -> None:
    for locale, expected in (("zh-CN", "请输入问题后再发送"), ("en-US", "Type a question first")):
        page = new_page(browser, screen, locale=locale)
        open_console(page, server)
        page.locator("#send").click()
        expect(page.locator(".toast-body")).to_contain_text(expected)
        page.context.close()


def test_phone_controls_are_big_enough_to_tap_and_do_not_zoom(
    browser: Browser, server: str
) -> None:
    page = new_page(browser, "phone")
    open_console(page, server)
    for control in (page.locator("#send"), *page.locator("#role label").all()):
        box = control.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, control
    size = question_box(page).evaluate("box => getComputedStyle(box).fontSize")
    assert float(size.removesuffix("px")) >= 16  # iOS zooms into smaller inputs
    page.context.close()


def test_the_api_docs_load_without_any_outside_server(page: Page, server: str) -> None:
    outside: list[str] = []

    def only_loopback(route: Route) -> Any:
        if route.request.url.startswith(server):
            return route.continue_()
        # ReDoc's "powered by" footer asks its CDN for a logo; the page needs nothing else.
        if route.request.resource_type != "image":
            outside.append(route.request.url)
        return route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{server}/docs", wait_until="load")
    expect(page.locator(".swagger-ui .title")).to_contain_text("Jianglan Bank assistant")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.goto(f"{server}/redoc", wait_until="load")
    expect(page.locator("h1").first).to_contain_text("Jianglan Bank assistant", timeout=30_000)
    assert outside == []
