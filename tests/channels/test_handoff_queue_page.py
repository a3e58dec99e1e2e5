"""The hand-off queue page at /console/handoffs, on the real app with API keys: its handlers
as functions (what a signed-in teller sees and is told, in Chinese), then the page in a real
browser behind the console's sign-in, on a desktop and a phone, with no serious
accessibility finding."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect

from assistant.channels.api.app import create_app
from assistant.channels.api.dependencies import Services
from assistant.channels.console_access import COOKIE
from assistant.channels.handoff_queue import (
    HANDOFF_QUEUE_PATH,
    NOTHING_CHOSEN,
    HandoffQueuePage,
    as_text,
)
from assistant.roles import Channel, Role
from assistant.turn import TurnRequest
from tests import browser as browsers
from tests.conftest import make_settings
from tests.servers import free_port

TELLER_KEY = "teller-key-0001"
KEYS = {TELLER_KEY: Channel.teller, "app-key-0002": Channel.customer_app}
CUSTOMER = "customer_app:page-test:customer"
# What a customer might type that Markdown would make an image fetched from elsewhere.
PICTURE = "![看这里](http://127.0.0.1:9/track.png)"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """The real app, keyed, over a store of its own; create_app mounts the queue under
    /console."""
    data = tmp_path_factory.mktemp("handoff-page")
    settings = make_settings(
        data, api_keys=KEYS, console_secret="console-signing-secret-for-handoff-tests-0123"
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


@pytest.fixture
def teller(services: Services) -> gr.Request:
    """A request carrying a signed-in teller's console cookie."""
    access = services.console_access
    cookie = access.cookie_value(access.sign_in(TELLER_KEY, None))
    return gr.Request(headers={"cookie": f"{COOKIE}={cookie}"})


def hand_off(services: Services, message: str = "我要投诉，网点乱收费") -> str:
    """A customer's turn handed to a person, through the real pipeline; its reference."""
    turn = services.assistant.answer(TurnRequest(message, Role.customer, owner=CUSTOMER))
    assert turn.handoff is not None
    return turn.handoff.reference


def references_in(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


# ------------------------------------------------------------------ the handlers


def test_a_signed_in_teller_sees_the_open_handoffs_newest_first(
    services: Services, teller: gr.Request
) -> None:
    older, newer = hand_off(services), hand_off(services, "转人工")
    rows, choices, detail, notice = HandoffQueuePage(services).listed("open", None, teller)
    assert references_in(rows)[:2] == [newer, older] and notice == ""
    assert rows[1][1:3] == ["投诉 Complaint", "待处理 Open"] and "乱收费" in rows[1][5]
    assert choices["choices"][:2] == [newer, older]
    assert NOTHING_CHOSEN in detail


def test_a_teller_takes_a_handoff_and_closes_it_with_a_note(
    services: Services, teller: gr.Request
) -> None:
    page, reference = HandoffQueuePage(services), hand_off(services)
    rows, _, detail, notice = page.assign_to_me("assigned", reference, teller)
    assert notice.startswith("已认领") and reference in references_in(rows)
    me = services.console_access.teller(teller.headers.get("cookie")).owner
    assert f"处理人：{as_text(me)}" in detail and "处理中 Assigned" in detail
    rows, _, detail, notice, note = page.close("open", reference, "已回电，退还手续费", teller)
    assert notice.startswith("已关闭") and note == ""
    assert reference not in references_in(rows)  # no longer open ...
    assert "已关闭 Closed" in detail and "已回电，退还手续费" in detail  # ... but still shown


def test_what_cannot_be_done_is_said_inline_in_chinese(
    services: Services, teller: gr.Request
) -> None:
    page, reference = HandoffQueuePage(services), hand_off(services)
    assert page.assign_to_me("open", None, teller)[-1] == f"注意：{NOTHING_CHOSEN}"
    *kept, notice, note = page.close("open", reference, "  ", teller)
    assert notice.startswith("注意：请填写处理结果") and all(k == gr.update() for k in kept)
    assert note == gr.update()  # what the teller typed is kept for them to correct
    page.close("open", reference, "已处理", teller)
    assert "已关闭，不能再关闭" in page.close("open", reference, "再关一次", teller)[-2]
    assert "已关闭，不能再认领" in page.assign_to_me("open", reference, teller)[-1]
    stranger = gr.Request(headers={"cookie": ""})
    assert "请先登录柜员控制台" in page.listed("open", None, stranger)[-1]


def test_a_store_that_lost_its_table_is_reported_not_raised(
    services: Services, teller: gr.Request
) -> None:
    database = Path(str(services.store.engine.url.database))
    with sqlite3.connect(database) as db:
        db.execute("drop table handoffs")
    notice = HandoffQueuePage(services).listed("open", None, teller)[-1]
    assert notice.startswith("注意：暂时无法读取或保存转人工记录")
    assert "Traceback" not in notice and "sqlite" not in notice.lower()
    # The store took its table back: the queue works again without a restart.
    assert HandoffQueuePage(services).listed("open", None, teller)[-1] == ""


# ------------------------------------------------------------------ the page in a browser


@pytest.fixture(scope="module")
def url(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def signed_in_page(browser: Browser, url: str, screen: str) -> Page:
    page = browsers.new_page(browser, screen)
    page.goto(f"{url}/console/sign-in", wait_until="load")
    page.locator("#key").fill(TELLER_KEY)
    page.get_by_role("button", name="登录 Sign in").click()
    page.wait_for_url(f"{url}/console/")
    page.goto(f"{url}{HANDOFF_QUEUE_PATH}/", wait_until="load")
    return page


def test_the_queue_page_is_behind_the_console_sign_in(url: str) -> None:
    refused = httpx.get(f"{url}{HANDOFF_QUEUE_PATH}/", timeout=30, follow_redirects=False)
    assert refused.status_code == 401 and "请先登录" in refused.text


@pytest.mark.parametrize("screen", list(browsers.VIEWPORTS))
def test_the_queue_page_reads_well_on_a_desktop_and_a_phone(
    browser: Browser, url: str, services: Services, screen: str
) -> None:
    reference = hand_off(services)
    page = signed_in_page(browser, url, screen)
    expect(page.locator("#handoff-table")).to_contain_text(reference, timeout=60_000)
    expect(page.get_by_text("转人工队列").first).to_be_visible()
    assert browsers.serious_violations(page) == []
    browsers.screenshot(page, f"handoff-queue-{screen}")
    page.context.close()


def test_a_teller_takes_and_closes_a_handoff_on_the_page(
    browser: Browser, url: str, services: Services
) -> None:
    reference = hand_off(services, f"我要投诉，理财经理夸大收益 {PICTURE}")
    page = signed_in_page(browser, url, "desktop")
    table = page.locator("#handoff-table")
    table.get_by_text(reference, exact=True).last.click()
    detail = page.locator("#handoff-detail")
    expect(detail).to_contain_text(reference)
    expect(detail).to_contain_text(f"夸大收益 {PICTURE}")  # as typed, not as markup
    expect(detail.locator("img, a")).to_have_count(0)
    page.locator("#handoff-close").click()  # no note yet: refused, inline, in Chinese
    expect(page.locator("#handoff-notice")).to_contain_text("请填写处理结果")
    page.get_by_role("button", name="认领 / Assign to me").click()
    expect(page.locator("#handoff-notice")).to_contain_text("已认领")
    expect(detail).to_contain_text("处理中 Assigned")
    page.locator("#handoff-resolution textarea").fill("已致电客户说明产品风险，客户接受")
    page.get_by_role("button", name="关闭 / Close").click()
    expect(page.locator("#handoff-notice")).to_contain_text("已关闭")
    expect(detail).to_contain_text("已致电客户说明产品风险")
    expect(table).not_to_contain_text(reference)  # the filter shows the open ones
    page.get_by_label("已关闭 Closed").check()
    expect(table).to_contain_text(reference)
    (closed,) = [h for h in services.store.queue("closed") if h.reference == reference]
    assert closed.resolution == "已致电客户说明产品风险，客户接受"
    assert closed.assignee and closed.assignee.startswith("teller:")
    browsers.screenshot(page, "handoff-queue-closed")
    page.context.close()
