"""Who is at the teller console. The console answers as a teller, so on a keyed server it is a
teller's door only: a teller signs in once, with a teller key or the intranet's signed token
for a teller, and carries a signed session cookie (HttpOnly, SameSite=Strict) from then on.
Everything under /console (page, Gradio's API and queue) is refused without it, and no
other origin is answered. The analytics page under /console/analytics shows what every
channel's users asked: only an administrator's session reaches it. Open local mode, on the
developer's own machine, needs no sign-in."""

from __future__ import annotations

import secrets
import time
from http.cookies import SimpleCookie
from typing import Any

import jwt
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.channels.auth import Authenticator, Principal
from assistant.errors import Unauthenticated
from assistant.roles import Channel, Role

CONSOLE_PATH = "/console"
SIGN_IN_PATH = f"{CONSOLE_PATH}/sign-in"
SIGN_OUT_PATH = f"{CONSOLE_PATH}/sign-out"
# The staff analytics page: for an administrator or the content team, never for a teller.
ANALYTICS_PATH = f"{CONSOLE_PATH}/analytics"
ANALYSTS = (Channel.admin, Channel.content)
COOKIE = "console_session"
_AUDIENCE = "bank-assistant-console"
# The developer at their own machine, in open local mode.
LOCAL_TELLER = Principal(None, (Role.teller, Role.customer), "console")
SIGN_IN_NEEDED = (
    "请先登录柜员控制台：打开 /console/sign-in，输入柜员密钥或使用行内统一登录令牌。"
    " / Sign in to the teller console first at /console/sign-in."
)
ANALYTICS_REFUSED = (
    "运营分析页面仅限管理员和内容团队查看：请用管理员或内容团队密钥在 /console/sign-in 登录。"
    " / The analytics page is for administrators and the content team only."
)
CONSOLE_REFUSED = (
    "该账号只能查看运营分析，不能使用柜员控制台：请打开 /console/analytics/。"
    " / This sign-in opens the analytics page only."
)


class ConsoleAccess:
    def __init__(self, authenticator: Authenticator, secret: str | None, hours: int) -> None:
        self.authenticator = authenticator
        # No configured secret: sessions last as long as this process.
        self._secret = secret or secrets.token_urlsafe(32)
        self.lifetime_s = hours * 3600

    @property
    def open_mode(self) -> bool:
        return self.authenticator.open_mode

    def sign_in(self, key: str | None, token: str | None) -> Principal:
        """The teller a key or an intranet token names; anyone else is refused."""
        if token:
            claims = self.authenticator.intranet_claims(token)
            if claims["role"] != Role.teller:
                raise Unauthenticated("该登录令牌不是柜员身份 / this token is not a teller's")
            return Principal(Channel.intranet, (Role.teller, Role.customer), str(claims["sub"]))
        principal = self.authenticator.principal(key or None)
        if principal.channel not in (Channel.teller, Channel.admin, Channel.content):
            raise Unauthenticated("该密钥不是柜员密钥 / this key is not a teller key")
        return principal

    def cookie_value(self, principal: Principal) -> str:
        now = int(time.time())
        claims = {
            "sub": principal.subject,
            "channel": str(principal.channel),
            "aud": _AUDIENCE,
            "iat": now,
            "exp": now + self.lifetime_s,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def teller(self, cookie_header: str | None) -> Principal:
        """The teller a request's session cookie names."""
        if self.open_mode:
            return LOCAL_TELLER
        cookies: SimpleCookie = SimpleCookie()
        cookies.load(cookie_header or "")
        morsel = cookies.get(COOKIE)
        if morsel is None:
            raise Unauthenticated(SIGN_IN_NEEDED)
        try:
            claims: dict[str, Any] = jwt.decode(
                morsel.value, self._secret, algorithms=["HS256"], audience=_AUDIENCE
            )
        except jwt.PyJWTError:
            raise Unauthenticated(SIGN_IN_NEEDED) from None
        return Principal(Channel(claims["channel"]), (Role.teller, Role.customer), claims["sub"])

    def may_read_analytics(self, cookie_header: str | None) -> bool:
        """Whether the session cookie names an administrator (or this is open local mode).
        Anything else, an unreadable cookie included, is refused: the page shows what every
        channel's customers asked."""
        if self.open_mode:
            return True
        try:
            return self.teller(cookie_header).channel in ANALYSTS
        except (Unauthenticated, ValueError, KeyError):
            return False

    def may_use_console(self, cookie_header: str | None) -> bool:
        """Whether the session may use the teller console itself (and the hand-off queue and
        the cited documents): a content team member's session opens the analytics page only."""
        if self.open_mode:
            return True
        try:
            return self.teller(cookie_header).channel is not Channel.content
        except (Unauthenticated, ValueError, KeyError):
            return False

    def set_cookie(self, response: Response, principal: Principal) -> None:
        response.set_cookie(
            COOKIE,
            self.cookie_value(principal),
            max_age=self.lifetime_s,
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
        )


class ConsoleGate:
    """Everything under /console needs a signed-in teller on a keyed server; no response
    under it carries CORS headers, so no other origin's page can read the console."""

    def __init__(self, app: ASGIApp, access: ConsoleAccess) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _under_console(path):
            await self.app(scope, receive, send)
            return
        if path not in (SIGN_IN_PATH, SIGN_OUT_PATH) and not self._signed_in(scope):
            await _refusal(scope)(scope, receive, send)
            return
        if _under(path, ANALYTICS_PATH):
            if not self.access.may_read_analytics(_cookie(scope)):
                await _analytics_refusal(scope)(scope, receive, send)
                return
        elif path not in (SIGN_IN_PATH, SIGN_OUT_PATH) and not self.access.may_use_console(
            _cookie(scope)
        ):
            await _console_refusal(scope)(scope, receive, send)
            return
        await self.app(scope, receive, _without_cors(send))

    def _signed_in(self, scope: Scope) -> bool:
        try:
            self.access.teller(_cookie(scope))
        except Unauthenticated:
            return False
        return True


def _cookie(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    return str(headers.get(b"cookie", b"").decode("latin-1"))


def _under_console(path: str) -> bool:
    return _under(path, CONSOLE_PATH)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(f"{prefix}/")


def _pages(scope: Scope) -> bool:
    """A browser opening one of the pages under /console (it asks for HTML), not a script
    calling their API."""
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    page = scope.get("path") in (
        CONSOLE_PATH,
        f"{CONSOLE_PATH}/",
        ANALYTICS_PATH,
        f"{ANALYTICS_PATH}/",
    )
    return scope.get("method") == "GET" and (page or b"text/html" in accept)


def _refusal(scope: Scope) -> Response:
    """The page sends a browser to sign in; Gradio's API answers a script with a 401."""
    if _pages(scope):
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    return JSONResponse(
        {"error": {"code": "unauthenticated", "message": SIGN_IN_NEEDED}}, status_code=401
    )


def _analytics_refusal(scope: Scope) -> Response:
    """A signed-in teller is told, in a page of its own, that the page is not theirs; a
    script gets a 403."""
    back = (f"{CONSOLE_PATH}/", "返回柜员控制台 / Back to the teller console")
    return _forbidden(scope, "无权访问运营分析 / Not permitted", ANALYTICS_REFUSED, back)


def _console_refusal(scope: Scope) -> Response:
    """A content team member's session is for the analytics page, not the teller's tools."""
    onward = (f"{ANALYTICS_PATH}/", "打开运营分析 / Open the analytics page")
    return _forbidden(scope, "无权使用柜员控制台 / Not permitted", CONSOLE_REFUSED, onward)


def _forbidden(scope: Scope, title: str, message: str, link: tuple[str, str]) -> Response:
    if not _pages(scope):
        return JSONResponse({"error": {"code": "forbidden", "message": message}}, status_code=403)
    href, text = link
    page = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>无权访问 · 江澜银行</title></head>
<body style="font-family: sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<main><h1>{title}</h1>
<p role="alert">{message}</p>
<p><a href="{href}">{text}</a></p></main>
</body></html>"""
    return HTMLResponse(page, status_code=403)


def _without_cors(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (name, value)
                for name, value in message.get("headers", [])
                if not name.lower().startswith(b"access-control-")
            ]
        await send(message)

    return sending
