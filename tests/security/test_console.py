"""Critical 1: the teller console answers as a teller, so in keyed mode it is a teller's
door only: signed in with a teller key or the intranet's teller token, turns owned by that
teller and rate-limited like /v1, and no CORS for other origins."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from assistant.pipeline import Assistant
from assistant.settings import Settings
from tests.channels.test_api import running_server
from tests.security.conftest import (
    STAFF_ANSWER,
    STAFF_QUESTION,
    TELLER_KEY,
    intranet_token,
    keyed_env,
)

# The profile form as a teller leaves it: numbers 0 (Gradio's empty), no risk level, no date.
EMPTY_PROFILE = [0, 0, "", None, 0, 0, False]


def console_turn(url: str, message: str, cookies: httpx.Cookies | None = None) -> httpx.Response:
    """One turn through Gradio's own API, as a script would call it."""
    with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
        started = client.post(
            "/console/gradio_api/call/respond",
            # The question, the chat so far, the audience, the browser's sessions, the form.
            json={"data": [message, [], "teller", {}, *EMPTY_PROFILE]},
        )
        if started.status_code != 200:
            return started
        return client.get(f"/console/gradio_api/call/respond/{started.json()['event_id']}")


def event(response: httpx.Response, name: str) -> object:
    """The data of a Gradio event (complete, error) in a call's stream."""
    blocks = response.text.replace("\r\n", "\n").split("\n\n")
    for block in blocks:
        if block.startswith(f"event: {name}"):
            return json.loads(block.split("data: ", 1)[1])
    raise AssertionError(f"no {name} event in {response.text[:300]}")


def signed_in(url: str, **form: str) -> httpx.Response:
    return httpx.post(f"{url}/console/sign-in", data=form, timeout=30, follow_redirects=False)


def test_the_console_and_its_api_refuse_a_caller_who_has_not_signed_in(keyed: str) -> None:
    turn = console_turn(keyed, STAFF_QUESTION)
    assert turn.status_code == 401
    assert STAFF_ANSWER not in turn.text
    page = httpx.get(f"{keyed}/console/", timeout=30, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].endswith("/console/sign-in")
    form = httpx.get(f"{keyed}/console/sign-in", timeout=30)
    assert form.status_code == 200 and "柜员" in form.text and 'name="key"' in form.text


def test_a_teller_key_signs_in_for_an_httponly_strict_session(keyed: str) -> None:
    response = signed_in(keyed, key=TELLER_KEY)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    answer = event(console_turn(keyed, STAFF_QUESTION, response.cookies), "complete")
    assert STAFF_ANSWER in json.dumps(answer, ensure_ascii=False)


def test_the_intranets_teller_token_signs_in_and_others_do_not(keyed: str) -> None:
    assert signed_in(keyed, token=intranet_token("teller")).status_code == 303
    for refused in (
        {"key": "app-key-0002"},  # the customer app's key
        {"key": "intranet-key-0003"},
        {"key": "not-a-key"},
        {"token": intranet_token("employee")},
        {"token": intranet_token("teller") + "x"},
    ):
        response = signed_in(keyed, **refused)
        assert response.status_code == 401, refused
        assert "柜员" in response.text


def test_console_turns_belong_to_the_teller_who_signed_in(keyed: str, settings: Settings) -> None:
    question = "个人养老金每年最多能存多少？"
    cookies = signed_in(keyed, token=intranet_token("teller", sub="teller-0815")).cookies
    event(console_turn(keyed, question, cookies), "complete")
    with sqlite3.connect(settings.data_dir / "assistant.db") as db:
        owners = db.execute(
            "select c.owner from conversations c join turns t on t.session_id = c.id "
            "where t.question = ?",
            (question,),
        ).fetchall()
    assert owners == [("intranet:teller-0815:teller",)]


def test_the_console_answers_no_other_origin(keyed: str) -> None:
    cookies = signed_in(keyed, key=TELLER_KEY).cookies
    for origin in ("http://localhost:3000", "http://evil.example"):
        response = httpx.get(
            f"{keyed}/console/config", headers={"Origin": origin}, cookies=cookies, timeout=30
        )
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers


@pytest.fixture(scope="module")
def limited(assistant: Assistant, settings: Settings) -> Iterator[str]:
    with running_server(settings, **keyed_env(ASSISTANT_RATE_LIMIT_PER_MINUTE="3")) as url:
        yield url


def test_console_turns_are_rate_limited_like_the_api(limited: str) -> None:
    cookies = signed_in(limited, key=TELLER_KEY).cookies
    replies = [console_turn(limited, "大额存单起存金额是多少？", cookies) for _ in range(5)]
    refused = [r for r in replies if "event: error" in r.text]
    assert len(refused) >= 2, [r.text[:200] for r in replies]
    assert all("请求过于频繁" in str(event(r, "error")) for r in refused)


CONSOLE_SECRET = "console-signing-key-that-stays-on-the-server"


@pytest.fixture(scope="module")
def sealed(assistant: Assistant, settings: Settings) -> Iterator[str]:
    with running_server(settings, **keyed_env(ASSISTANT_CONSOLE_SECRET=CONSOLE_SECRET)) as url:
        yield url


def test_no_console_page_carries_the_key_its_sessions_are_signed_with(sealed: str) -> None:
    """Gradio hands the page every component's settings; a key in them would let a teller
    sign themselves an administrator's session."""
    cookies = signed_in(sealed, key=TELLER_KEY).cookies
    for path in ("/console/", "/console/config", "/console/handoffs/config"):
        page = httpx.get(f"{sealed}{path}", cookies=cookies, timeout=30)
        assert page.status_code == 200, path
        assert CONSOLE_SECRET not in page.text, path


def test_signing_out_clears_what_the_browser_kept_for_the_console(keyed: str) -> None:
    cookies = signed_in(keyed, key=TELLER_KEY).cookies
    response = httpx.post(
        f"{keyed}/console/sign-out", cookies=cookies, timeout=30, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["clear-site-data"] == '"storage"'
