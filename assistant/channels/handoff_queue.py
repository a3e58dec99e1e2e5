"""The hand-off queue page for staff at the console: the hand-offs waiting, taken and closed,
one to take ("认领") or to close with a note of how it was resolved. Under /console, so the
console's sign-in gate lets only a signed-in teller or administrator reach it; each action
is done as the signed-in member of staff."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import gradio as gr
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from assistant.channels.api.dependencies import Services
from assistant.channels.auth import Principal
from assistant.channels.console_access import CONSOLE_PATH, SIGN_IN_NEEDED
from assistant.channels.look import THEME
from assistant.errors import AssistantError, Unauthenticated, Unavailable
from assistant.memory.store import HANDOFF_STATES, QueuedHandoff

log = logging.getLogger(__name__)

HANDOFF_QUEUE_PATH = f"{CONSOLE_PATH}/handoffs"
# The bank works in Beijing time, which keeps no daylight saving: a fixed offset is exact.
BEIJING = timezone(timedelta(hours=8))
ALL_STATES = "all"
STATE_NAMES = {"open": "待处理 Open", "assigned": "处理中 Assigned", "closed": "已关闭 Closed"}
KIND_NAMES = {"complaint": "投诉 Complaint", "agent": "人工服务 Agent"}
COLUMNS = [
    "编号 Reference",
    "类型 Kind",
    "状态 State",
    "登记时间（北京时间）Created",
    "处理人 Assignee",
    "客户问题（已脱敏）Question",
]
# On a phone every button and choice is large enough to tap.
CSS = """
@media (max-width: 640px) {
  button, #handoff-state label { min-height: 44px; min-width: 44px; }
}
"""
# Every ASCII punctuation mark Markdown may read as markup; a backslash makes each literal.
_MARKDOWN_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:])")
UNAVAILABLE = "暂时无法读取或保存转人工记录，请稍后重试。/ The hand-off records are unavailable."
NOTHING_CHOSEN = "请先在表格或下拉框中选择一条转人工记录。/ Choose a hand-off first."


def beijing_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def table_rows(handoffs: list[QueuedHandoff]) -> list[list[str]]:
    return [
        [
            h.reference,
            KIND_NAMES.get(h.kind, h.kind),
            STATE_NAMES.get(h.state, h.state),
            beijing_time(h.created_at),
            h.assignee or "—",
            h.question,
        ]
        for h in handoffs
    ]


def as_text(typed: str) -> str:
    """What a customer or a member of staff typed, shown as they typed it: Markdown's marks
    escaped, so a question cannot become a link, an image fetched from elsewhere or markup."""
    return _MARKDOWN_MARKS.sub(r"\\\1", typed)


def detail_markdown(handoff: QueuedHandoff | None) -> str:
    """The chosen hand-off in full, the customer's question quoted as text."""
    if handoff is None:
        return f"_{NOTHING_CHOSEN}_"
    lines = [
        f"**{handoff.reference}** · {KIND_NAMES.get(handoff.kind, handoff.kind)}"
        f" · {STATE_NAMES.get(handoff.state, handoff.state)}",
        "",
        f"- 登记时间：{beijing_time(handoff.created_at)}（北京时间）",
        f"- 处理人：{as_text(handoff.assignee or '未认领')}",
        f"- 会话：`{handoff.session_id}`",
    ]
    if handoff.closed_at and handoff.resolution:
        lines.append(f"- 关闭时间：{beijing_time(handoff.closed_at)}（北京时间）")
        lines.append(f"- 处理结果：{as_text(handoff.resolution)}")
    quoted = as_text(handoff.question).replace("\n", "\n> ")
    return "\n".join(lines) + f"\n\n> {quoted}"


def notice_for(error: AssistantError) -> str:
    """An error as the page shows it: Chinese first, and never a stack trace. The store's
    own refusals (no such hand-off, already closed, a note missing) are written so."""
    if isinstance(error, Unavailable):
        return f"注意：{UNAVAILABLE}"
    if isinstance(error, Unauthenticated):
        return f"注意：{SIGN_IN_NEEDED}"
    return f"注意：{error}"


def chosen_reference(select: gr.SelectData) -> str | None:
    """The reference of the table row clicked: the row's first column."""
    row = select.row_value
    return str(row[0]) if row else None


class HandoffQueuePage:
    """The page's event handlers. Each returns what the page shows next: the table, the
    references to choose from, the chosen one in full and a notice (an error, inline)."""

    def __init__(self, services: Services) -> None:
        self.store = services.store
        self.access = services.console_access

    def staff_member(self, request: gr.Request) -> Principal:
        return self.access.teller(request.headers.get("cookie"))

    def listed(self, state: str, chosen: str | None, request: gr.Request) -> tuple[Any, ...]:
        try:
            self.staff_member(request)
            return self._shown(state, chosen, "")
        except AssistantError as error:
            return self._unchanged(notice_for(error))

    def choose(self, state: str, select: gr.SelectData, request: gr.Request) -> tuple[Any, ...]:
        return self.listed(state, chosen_reference(select), request)

    def assign_to_me(self, state: str, chosen: str | None, request: gr.Request) -> tuple[Any, ...]:
        if not chosen:
            return self._unchanged(f"注意：{NOTHING_CHOSEN}")
        try:
            me = self.staff_member(request)
            taken = self.store.assign(chosen, me.owner)
            log.info("hand-off %s assigned to %s at the console", chosen, me.owner)
            return self._shown(state, chosen, f"已认领 {taken.reference}。/ Assigned to you.")
        except AssistantError as error:
            return self._unchanged(notice_for(error))

    def close(
        self, state: str, chosen: str | None, resolution: str, request: gr.Request
    ) -> tuple[Any, ...]:
        if not chosen:
            return (*self._unchanged(f"注意：{NOTHING_CHOSEN}"), gr.update())
        try:
            me = self.staff_member(request)
            closed = self.store.close(chosen, resolution or "")
            log.info("hand-off %s closed by %s at the console", chosen, me.owner)
            done = f"已关闭 {closed.reference}。/ Closed."
            return (*self._shown(state, chosen, done), "")
        except AssistantError as error:
            return (*self._unchanged(notice_for(error)), gr.update())

    def _shown(self, state: str, chosen: str | None, notice: str) -> tuple[Any, ...]:
        handoffs = self.store.queue(None if state == ALL_STATES else state)
        found = next((h for h in handoffs if h.reference == chosen), None)
        if found is None and chosen:  # out of the filter (just closed, say): still shown
            found = next((h for h in self.store.queue() if h.reference == chosen), None)
        references = [h.reference for h in handoffs]
        if found is not None and found.reference not in references:
            references.insert(0, found.reference)
        return (
            table_rows(handoffs),
            gr.update(choices=references, value=found.reference if found else None),
            detail_markdown(found),
            notice,
        )

    @staticmethod
    def _unchanged(notice: str) -> tuple[Any, ...]:
        keep = gr.update()
        return keep, keep, keep, notice


def _filters() -> tuple[gr.Radio, gr.Button]:
    with gr.Row():
        state = gr.Radio(
            [(STATE_NAMES[s], s) for s in HANDOFF_STATES] + [("全部 All", ALL_STATES)],
            value="open",
            label="按状态筛选 Filter by state",
            elem_id="handoff-state",
        )
        refresh = gr.Button("刷新 Refresh", elem_id="handoff-refresh")
    return state, refresh


def _actions() -> tuple[gr.Dropdown, gr.Markdown, gr.Textbox, gr.Button, gr.Button]:
    chosen = gr.Dropdown(
        [],
        value=None,
        label="选择转人工记录 Choose a hand-off",
        allow_custom_value=False,
        elem_id="handoff-chosen",
    )
    detail = gr.Markdown(detail_markdown(None), elem_id="handoff-detail")
    resolution = gr.Textbox(
        label="处理结果（关闭时必填）Resolution, needed to close",
        lines=3,
        max_length=2000,
        elem_id="handoff-resolution",
    )
    with gr.Row():
        assign = gr.Button("认领 / Assign to me", variant="primary", elem_id="handoff-assign")
        close = gr.Button("关闭 / Close", variant="secondary", elem_id="handoff-close")
    return chosen, detail, resolution, assign, close


def build_handoff_queue(services: Services) -> gr.Blocks:
    handlers = HandoffQueuePage(services)
    with gr.Blocks(title="江澜银行 · 转人工队列") as page:
        gr.Markdown("## 江澜银行 · 转人工队列 Hand-off queue")
        state, refresh = _filters()
        table = gr.Dataframe(
            headers=COLUMNS,
            value=[],
            interactive=False,
            wrap=True,
            label="转人工记录（最新在前）Hand-offs, newest first",
            elem_id="handoff-table",
        )
        chosen, detail, resolution, assign, close = _actions()
        notice = gr.Markdown("", elem_id="handoff-notice")
        shown = [table, chosen, detail, notice]
        page.load(handlers.listed, [state, chosen], shown)
        state.change(handlers.listed, [state, chosen], shown)
        refresh.click(handlers.listed, [state, chosen], shown)
        chosen.input(handlers.listed, [state, chosen], shown)
        table.select(handlers.choose, [state], shown)
        assign.click(handlers.assign_to_me, [state, chosen], shown)
        close.click(handlers.close, [state, chosen, resolution], [*shown, resolution])
    return page


def mount_handoff_queue(app: FastAPI, services: Services) -> FastAPI:
    # No footer: its links lead to Gradio's API page and settings, nothing staff need here.
    gr.mount_gradio_app(
        app,
        build_handoff_queue(services),
        path=HANDOFF_QUEUE_PATH,
        theme=THEME,
        css=CSS,
        footer_links=[],
    )
    _before_enclosing_mounts(app.router.routes, HANDOFF_QUEUE_PATH)
    return app


def _before_enclosing_mounts(routes: list[BaseRoute], path: str) -> None:
    """Starlette tries routes in order, and the console's own mount at /console would answer
    everything under it: the queue's mount goes before any mount enclosing its path, in
    whichever order the two were mounted."""
    mine = next(r for r in reversed(routes) if isinstance(r, Mount) and r.path == path)
    routes.remove(mine)
    enclosing = [
        i
        for i, route in enumerate(routes)
        if isinstance(route, Mount) and path.startswith(f"{route.path.rstrip('/')}/")
    ]
    routes.insert(min(enclosing, default=len(routes)), mine)
