"""The intranet widget's script, and a stand-in intranet page that embeds it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from assistant.channels.api.dependencies import Deps

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(include_in_schema=False)
demo_router = APIRouter(include_in_schema=False)


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(WEB_DIR / "widget.js", media_type="text/javascript")


@demo_router.get("/widget/demo/{persona}")
def widget_demo(persona: Literal["employee", "customer"], deps: Deps) -> HTMLResponse:
    """A stand-in for an intranet page: the host signs its user in and hands the widget
    the token, as the real intranet's server would. Each visit is a visitor of its own."""
    names = {"employee": "王敏（零售业务部）", "customer": "访客"}
    visitor = f"demo-{persona}-{secrets.token_hex(6)}"
    token = deps.authenticator.sign_intranet_user(visitor, persona, names[persona])
    page = (WEB_DIR / "demo.html").read_text(encoding="utf-8")
    return HTMLResponse(page.replace("{{token}}", token).replace("{{name}}", names[persona]))
