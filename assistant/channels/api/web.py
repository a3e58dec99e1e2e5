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


HOSTS: dict[str, DemoHost] = {
    "employee": DemoHost(
        site="江澜银行内网 · Intranet",
        user="王敏（零售业务部）",
        nav=("首页 · Home", "制度文件 · Policies", "产品中心 · Products", "培训学习 · Training"),
        notices=(
            ("产品", "2026年第一期大额存单发售安排的通知", "2026-05-28"),
            ("合规", "关于开展反洗钱客户身份识别专项检查的通知", "2026-05-20"),
            ("培训", "理财销售“双录”操作规程线上培训安排", "2026-05-12"),
            ("服务", "老年客户适老化服务举措更新说明", "2026-05-06"),
            ("运营", "五一假期期间网点营业时间调整公告", "2026-04-25"),
        ),
        links=(
            "费用价目表 · Fee schedule",
            "投诉处理流程 · Complaints",
            "客户信息保护 · Privacy",
            "IT 服务台 · IT help desk",
        ),
        footer="江澜银行股份有限公司 · 内部使用 · For internal use only",
        examples=(
            "分行最多可以给大额存单利率上浮多少个基点？",
            "哪些情形必须双录？",
            "客户投诉什么情况下要升级到分行？",
            "大额存单起存金额是多少？",
        ),
    ),
    "customer": DemoHost(
        site="江澜银行 · 个人服务",
        user="访客",
        nav=("首页 · Home", "存款 · Deposits", "理财 · Wealth", "银行卡 · Cards"),
        notices=(
            ("产品", "2026年第一期大额存单发售公告", "2026-05-28"),
            ("服务", "老年客户专属服务举措上线", "2026-05-06"),
            ("安全", "警惕冒充银行客服的电信诈骗", "2026-04-30"),
            ("运营", "五一假期期间网点营业时间调整公告", "2026-04-25"),
        ),
        links=(
            "收费标准 · Fees",
            "投诉与建议 · Complaints",
            "隐私政策 · Privacy",
            "网点与营业时间 · Branches",
        ),
        footer="江澜银行股份有限公司 · 客服热线 95388",
        examples=(
            "大额存单起存金额是多少？",
            "借记卡丢了怎么挂失？",
            "开户需要带什么证件？",
            "风险评估结果有效期多久？",
        ),
    ),
}


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
