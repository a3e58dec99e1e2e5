"""Signing in to the teller console on a keyed server: a teller key typed into the page, or
the intranet's teller token posted by the bank's single sign-on, exchanged once for the
console's session cookie."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from assistant.channels.api.dependencies import Deps
from assistant.channels.api.web import WEB_DIR
from assistant.channels.console_access import (
    ANALYTICS_PATH,
    CONSOLE_PATH,
    COOKIE,
    SIGN_IN_PATH,
    SIGN_OUT_PATH,
)
from assistant.errors import Unauthenticated
from assistant.roles import Channel

router = APIRouter(include_in_schema=False)


def sign_in_page(error: str = "", status: int = 200) -> HTMLResponse:
    page = (WEB_DIR / "sign-in.html").read_text(encoding="utf-8")
    shown = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return HTMLResponse(page.replace("{{error}}", shown), status_code=status)


@router.get(SIGN_IN_PATH)
def sign_in_form() -> HTMLResponse:
    return sign_in_page()


@router.post(SIGN_IN_PATH)
def sign_in(
    request: Request,
    deps: Deps,
    key: Annotated[str, Form(max_length=8192)] = "",
    token: Annotated[str, Form(max_length=8192)] = "",
) -> Response:
    # Guessing keys costs a caller as much as asking questions does.
    wait = deps.limiter.retry_after(f"sign-in:{request.client.host if request.client else ''}")
    if wait > 0:
        return sign_in_page(f"尝试次数过多，请 {wait:.0f} 秒后再试。/ Too many attempts.", 429)
    try:
        teller = deps.console_access.sign_in(key.strip() or None, token.strip() or None)
    except Unauthenticated as error:
        return sign_in_page(f"登录失败：{error}", 401)
    # The content team's sign-in opens the one page it is for.
    home = ANALYTICS_PATH if teller.channel is Channel.content else CONSOLE_PATH
    response = RedirectResponse(f"{home}/", status_code=303)
    deps.console_access.set_cookie(response, teller)
    return response


@router.post(SIGN_OUT_PATH)
def sign_out() -> Response:
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(COOKIE, path=CONSOLE_PATH)
    # The console's draft and the ids of its sessions go too: the next teller at this
    # workstation starts with nothing of the last one's.
    response.headers["Clear-Site-Data"] = '"storage"'
    return response
