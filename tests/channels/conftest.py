"""What the browser tests of the channels share: one Chromium per test module, the real
server in open local mode, and a fresh page on each of the two screens."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.browser import VIEWPORTS, launch, new_page
from tests.channels.test_api import running_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def server(assistant: Assistant, settings: Settings) -> Iterator[str]:
    """`assistant serve` on loopback over the indexed knowledge base; its demo pages sign
    their own intranet users."""
    with running_server(settings) as url:
        yield url


@pytest.fixture(params=list(VIEWPORTS))
def screen(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser, screen: str) -> Iterator[Page]:
    page = new_page(browser, screen)
    yield page
    page.context.close()
