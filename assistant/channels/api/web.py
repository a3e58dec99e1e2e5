"""The chat widget's script, and stand-in host pages that embed it: an intranet page for an
employee and the bank's public site for a customer."""

from __future__ import annotations

import html
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from assistant.channels.api.dependencies import Deps
from assistant.content import parse_yaml

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(include_in_schema=False)
demo_router = APIRouter(include_in_schema=False)

Persona = Literal["employee", "customer"]

# A demo visitor is remembered for a working day, so that a reload is the same person and
# the widget can read the conversation back.
VISITOR_COOKIE_S = 8 * 3600
VISITOR_ID = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class DemoHost:
    """What the host page shows around the widget, and the questions the widget offers
    before the first one: each is answered from the knowledge base for this audience."""

    site: str
    user: str
    nav: tuple[str, ...]
    notices: tuple[tuple[str, str, str], ...]  # (tag, title, date)
    links: tuple[str, ...]
    footer: str
    examples: tuple[str, ...]


def load_hosts(path: Path) -> dict[str, DemoHost]:
    hosts = parse_yaml(path.read_text(encoding="utf-8"))
    return {
        persona: DemoHost(
            site=str(host["site"]),
            user=str(host["user"]),
            nav=tuple(map(str, host["nav"])),
            notices=tuple((str(tag), str(title), str(day)) for tag, title, day in host["notices"]),
            links=tuple(map(str, host["links"])),
            footer=str(host["footer"]),
            examples=tuple(map(str, host["examples"])),
        )
        for persona, host in hosts.items()
    }


HOSTS = load_hosts(WEB_DIR / "demo-hosts.yaml")


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(WEB_DIR / "widget.js", media_type="text/javascript")


@demo_router.get("/widget/demo/{persona}")
def widget_demo(persona: Persona, request: Request, deps: Deps) -> HTMLResponse:
    """A stand-in for a host page: it signs its user in and hands the widget the token, as
    the real intranet's (or website's) server would. The visitor is kept in a cookie, so a
    reload signs the same visitor in again and their conversation is still theirs."""
    host = HOSTS[persona]
    cookie = f"jl_demo_{persona}"
    visitor = request.cookies.get(cookie, "")
    if not VISITOR_ID.match(visitor):
        visitor = secrets.token_hex(6)
    token = deps.authenticator.sign_intranet_user(f"demo-{persona}-{visitor}", persona, host.user)
    response = HTMLResponse(render_demo(persona, host, token))
    response.set_cookie(
        cookie,
        visitor,
        max_age=VISITOR_COOKIE_S,
        path="/widget/demo",
        httponly=True,
        samesite="lax",
    )
    return response


def render_demo(persona: Persona, host: DemoHost, token: str) -> str:
    """demo.html with the host's parts filled in, every one of them escaped."""
    current = ' aria-current="page"'  # the first item: the page the visitor is on
    nav = "\n".join(
        f'    <a href="#"{current if i == 0 else ""}>{html.escape(item)}</a>'
        for i, item in enumerate(host.nav)
    )
    notices = "\n".join(
        f'        <li><span><span class="tag">{html.escape(tag)}</span>{html.escape(title)}'
        f'</span><time datetime="{day}">{day}</time></li>'
        for tag, title, day in host.notices
    )
    links = "\n".join(
        f'        <li><a href="#">{html.escape(link)}</a></li>' for link in host.links
    )
    fields = {
        "site": host.site,
        "name": host.user,
        "footer": host.footer,
        "token": token,
        "persona": persona,
        "examples": json.dumps(list(host.examples), ensure_ascii=False),
    }
    page = (WEB_DIR / "demo.html").read_text(encoding="utf-8")
    for name, markup in {"nav": nav, "notices": notices, "links": links}.items():
        page = page.replace("{{" + name + "}}", markup)
    for name, value in fields.items():
        page = page.replace("{{" + name + "}}", html.escape(value))
    return page
