"""What every browser test shares: Debian's Chromium driven by Playwright, the two screens
people use (a 1366x768 desktop and a 390x844 phone), and an axe-core accessibility scan read
from the npm package that `make test` installs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"

# The screens the issue names: a teller's desktop and a customer's phone.
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 3,
        "is_mobile": True,
        "has_touch": True,
    },
}


def launch() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser, screen: str = "desktop", locale: str = "zh-CN") -> Page:
    context = browser.new_context(locale=locale, **VIEWPORTS[screen])
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def serious_violations(page: Page, include: str | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it stands (or on the part
    `include` selects), each with its rule, help text and the nodes it names."""
    page.add_script_tag(path=str(AXE))
    results: dict[str, Any] = page.evaluate(
        """async (include) => await axe.run(include ? {include: [include]} : document,
                                             {resultTypes: ['violations']})""",
        include,
    )
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
