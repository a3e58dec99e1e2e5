"""The staff analytics page (/console/analytics), for the content and compliance team: turns
per day and channel, declined questions by topic, each 👎 with its reason, guardrail actions
by rule, hand-offs by state and the slowest turns, filtered by date and channel, with the
turns exported as CSV. Charts are Gradio's own (Vega-Lite, bundled: nothing is fetched).
Only an administrator reaches it (ConsoleGate); the handlers check again."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd  # type: ignore[import-untyped]
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

from assistant.channels.api.dependencies import Services
from assistant.channels.console_access import ANALYTICS_PATH, CONSOLE_PATH, ConsoleAccess
from assistant.channels.look import THEME
from assistant.memory.analytics import (
    AnalyticsContent,
    AnalyticsReader,
    Embed,
    Filter,
    Report,
    last_days,
    parse_day,
    report,
    turns_csv,
)
from assistant.roles import Channel

ALL = "all"
# How long an exported CSV (masked questions and answers) stays on the server's disk.
_EXPORT_KEPT_S = 3600


def channel_codes() -> list[str]:
    """Every channel a turn can come from: the key channels, and open local mode."""
    return [*(str(c) for c in Channel), "local"]


def channel_choices(content: AnalyticsContent) -> list[tuple[str, str]]:
    return [("全部渠道 All channels", ALL)] + [
        (content.channels.get(c, c), c) for c in channel_codes()
    ]


def chosen_filter(start: str, end: str, channel: str) -> Filter:
    """The filter as typed; a mistyped date or an unknown channel is explained, not run."""
    try:
        first, last = parse_day(start), parse_day(end)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    if first > last:
        raise gr.Error("开始日期晚于结束日期 / the start date is after the end date")
    if channel not in (ALL, *channel_codes()):
        raise gr.Error(f"没有这个渠道 / no such channel: {channel!r}")
    return Filter(first, last, None if channel == ALL else channel)


def _named(names: dict[str, str], code: str) -> str:
    return names.get(code, code)


# Each table's columns, Chinese first.
PER_DAY = ["日期 Day", "渠道 Channel", "对话数 Turns"]
TOPICS = ["话题 Topic", "次数 Count", "拒答原因 Reasons", "同类问题 Questions"]
REASONS = ["拒答原因 Reason", "次数 Count"]
THUMBS_DOWN = ["时间 Time (UTC)", "渠道 Channel", "问题 Question", "原因 Reason", "回答 Answer"]
RULES = ["规则 Rule", "动作 Action", "轮次 Turns"]
HANDOFFS = ["状态 State", "类型 Kind", "数量 Hand-offs"]
SLOWEST = ["耗时 ms", "时间 Time (UTC)", "渠道 Channel", "问题 Question", "回答方式 Answered by"]


def frames(result: Report, content: AnalyticsContent) -> dict[str, pd.DataFrame]:
    """Each section of the report as the table its chart and its grid show."""
    channel = content.channels
    reasons: dict[str, int] = {}
    for topic in result.topics:
        for code, n in topic.reasons:
            reasons[code] = reasons.get(code, 0) + n
    return {
        "per_day": pd.DataFrame(
            [(d.day.isoformat(), _named(channel, d.channel), d.turns) for d in result.per_day],
            columns=PER_DAY,
        ),
        "topics": pd.DataFrame(_topic_rows(result, content), columns=TOPICS),
        "reasons": pd.DataFrame(
            [(_named(content.decline_reasons, r), n) for r, n in reasons.items()],
            columns=REASONS,
        ),
        "thumbs_down": pd.DataFrame(_thumbs_down_rows(result, content), columns=THUMBS_DOWN),
        "rules": pd.DataFrame(
            [
                (r.rule, _named(content.guard_actions, r.action), r.turns)
                for r in result.guard_actions
            ],
            columns=RULES,
        ),
        "handoffs": pd.DataFrame(
            [
                (_named(content.handoff_states, h.status), h.kind or "—", h.handoffs)
                for h in result.handoffs
            ],
            columns=HANDOFFS,
        ),
        "slowest": pd.DataFrame(_slowest_rows(result, content), columns=SLOWEST),
    }


def _topic_rows(result: Report, content: AnalyticsContent) -> list[tuple[object, ...]]:
    return [
        (
            t.label,
            t.count,
            "；".join(f"{_named(content.decline_reasons, r)} ×{n}" for r, n in t.reasons),
            "；".join(f"{q} ×{n}" for q, n in t.questions),
        )
        for t in result.topics
    ]


def _thumbs_down_rows(result: Report, content: AnalyticsContent) -> list[tuple[object, ...]]:
    return [
        (
            f.created_at.strftime("%Y-%m-%d %H:%M"),
            _named(content.channels, f.channel),
            f.question,
            f.comment.strip() or content.no_comment,
            _shortened(f.answer),
        )
        for f in result.thumbs_down
    ]


def _slowest_rows(result: Report, content: AnalyticsContent) -> list[tuple[object, ...]]:
    return [
        (
            round(t.latency_ms),
            t.recorded_at.strftime("%Y-%m-%d %H:%M"),
            _named(content.channels, t.channel),
            t.question,
            t.answered_by,
        )
        for t in result.slowest
    ]


def summary_markdown(result: Report, content: AnalyticsContent) -> str:
    if result.empty:
        return f"**{content.empty}**"
    return (
        f"**{result.filter.start} 至 {result.filter.end}**：共 **{len(result.turns)}** 轮对话 "
        f"turns · 知识缺口 gaps **{len(result.gaps)}** · 差评 **{len(result.thumbs_down)}** · "
        f"转人工 hand-offs **{sum(h.handoffs for h in result.handoffs)}**"
    )


def _shortened(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Analytics:
    """The page's one handler: read, aggregate, and fill every section."""

    def __init__(self, services: Services) -> None:
        self.access: ConsoleAccess = services.console_access
        self.reader = AnalyticsReader(services.audit, services.store)
        self.content = AnalyticsContent.load(services.settings.prompts_dir)
        embedder = services.assistant.embedder
        self.embed: Embed = lambda texts: embedder.embed_passages(texts)
        self.exports = Path(tempfile.mkdtemp(prefix="assistant-analytics-"))

    def defaults(self) -> tuple[str, str]:
        """The default range as the page opens: the last days up to today (UTC), read when
        the page loads, not when the server started."""
        chosen = last_days(datetime.now(UTC).date(), self.content.default_days)
        return chosen.start.isoformat(), chosen.end.isoformat()

    def refresh(self, start: str, end: str, channel: str, request: gr.Request) -> tuple[Any, ...]:
        # The gate refuses anyone but an administrator or the content team; a page mounted
        # without it still does.
        if not self.access.may_read_analytics(request.headers.get("cookie")):
            raise gr.Error(
                "运营分析页面仅限管理员和内容团队 / administrators and content team only"
            )
        chosen = chosen_filter(start, end, channel)
        result = report(
            chosen,
            self.reader.turns(chosen),
            self.reader.feedback(chosen),
            self.reader.handoffs(chosen),
            self.embed,
            self.content,
        )
        tables = frames(result, self.content)
        # A folder of its own per export: two administrators' exports never overwrite.
        self._forget_old_exports()
        folder = Path(tempfile.mkdtemp(dir=self.exports))
        export = folder / f"turns-{chosen.start}-{chosen.end}-{chosen.channel or ALL}.csv"
        export.write_bytes(turns_csv(result.turns))
        updates: list[Any] = [summary_markdown(result, self.content)]
        for name in SECTIONS:
            shown = not tables[name].empty
            updates.append(gr.update(value=tables[name], visible=shown))
        for name in CHARTED:
            updates.append(gr.update(value=tables[name], visible=not tables[name].empty))
        for name in SECTIONS:
            updates.append(gr.update(visible=tables[name].empty))
        updates.append(gr.update(value=str(export), interactive=bool(result.turns)))
        return tuple(updates)

    def _forget_old_exports(self) -> None:
        # Exports hold masked questions and answers: none stays on disk past its hour (Gradio
        # forgets its own copies on the same schedule, `delete_cache`).
        cutoff = time.time() - _EXPORT_KEPT_S
        for folder in self.exports.iterdir():
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


# The sections with a grid, and those of them with a chart too.
SECTIONS = ("per_day", "topics", "thumbs_down", "rules", "handoffs", "slowest")
CHARTED = ("per_day", "reasons", "rules", "handoffs")
HEADERS = {
    "per_day": PER_DAY,
    "topics": TOPICS,
    "thumbs_down": THUMBS_DOWN,
    "rules": RULES,
    "handoffs": HANDOFFS,
    "slowest": SLOWEST,
}


@dataclass(frozen=True)
class Chart:
    """A bar chart over one section's table: its columns for x, y and the colour."""

    name: str
    label: str
    x: str
    y: str
    color: str | None = None


# The page from top to bottom: each section's heading, its table and the chart above it.
LAYOUT: list[tuple[str, str, Chart | None]] = [
    (
        "每日对话量 Turns per day and channel",
        "per_day",
        Chart("per_day", "每日对话量 Turns per day", PER_DAY[0], PER_DAY[2], PER_DAY[1]),
    ),
    (
        "知识缺口：拒答问题按话题 Declined questions by topic",
        "topics",
        Chart("reasons", "拒答原因 Decline reasons", REASONS[0], REASONS[1]),
    ),
    ("差评及原因 Thumbs-down with the reason given", "thumbs_down", None),
    (
        "合规规则动作 Guardrail actions by rule",
        "rules",
        Chart("rules", "规则动作 Actions by rule", RULES[0], RULES[2], RULES[1]),
    ),
    (
        "转人工 Hand-offs by state",
        "handoffs",
        Chart("handoffs", "转人工状态 Hand-offs by state", HANDOFFS[0], HANDOFFS[2], HANDOFFS[1]),
    ),
    ("最慢的对话 Slowest turns", "slowest", None),
]


def _chart(chart: Chart) -> gr.BarPlot:
    return gr.BarPlot(
        x=chart.x,
        y=chart.y,
        color=chart.color,
        visible=False,
        y_lim=[0, None],
        label=chart.label,
        elem_id=f"{chart.name.replace('_', '-')}-chart",
    )


def _grid(name: str, headers: list[str]) -> gr.Dataframe:
    return gr.Dataframe(
        headers=headers,
        interactive=False,
        wrap=True,
        visible=False,
        show_label=False,
        elem_id=f"{name}-table",
    )


def build_analytics(services: Services) -> gr.Blocks:
    """The analytics page; the gate lets only an administrator reach it."""
    handlers = Analytics(services)
    content = handlers.content
    grids: dict[str, gr.Dataframe] = {}
    charts: dict[str, gr.BarPlot] = {}
    empties: dict[str, gr.Markdown] = {}
    with gr.Blocks(
        title="江澜银行 · 运营分析", delete_cache=(_EXPORT_KEPT_S, _EXPORT_KEPT_S)
    ) as page:
        gr.Markdown(
            "# 江澜银行 · 运营分析 Analytics\n"
            f"[返回柜员控制台 Back to the teller console]({CONSOLE_PATH}/)"
        )
        with gr.Row(equal_height=True):
            first = gr.Textbox(label="开始日期 From (YYYY-MM-DD, UTC)", elem_id="start")
            last = gr.Textbox(label="结束日期 To (YYYY-MM-DD, UTC)", elem_id="end")
            channel = gr.Dropdown(
                channel_choices(content), value=ALL, label="渠道 Channel", elem_id="channel"
            )
        with gr.Row():
            apply = gr.Button("查询 Apply", variant="primary", elem_id="apply")
            download = gr.DownloadButton(
                "导出对话 CSV Export turns", interactive=False, elem_id="export"
            )
        summary = gr.Markdown(elem_id="summary")

        for heading, grid, chart in LAYOUT:
            gr.Markdown(f"## {heading}")
            if chart is not None:
                charts[chart.name] = _chart(chart)
            grids[grid] = _grid(grid, HEADERS[grid])
            empties[grid] = gr.Markdown(f"_{content.empty}_", elem_id=f"{grid}-empty")

        outputs = [
            summary,
            *(grids[n] for n in SECTIONS),
            *(charts[n] for n in CHARTED),
            *(empties[n] for n in SECTIONS),
            download,
        ]
        inputs = [first, last, channel]
        apply.click(handlers.refresh, inputs, outputs)
        page.load(handlers.defaults, None, [first, last]).then(handlers.refresh, inputs, outputs)
    return page


def mount_analytics(app: FastAPI, services: Services) -> FastAPI:
    """Mounts the page at /console/analytics, ahead of any mount that would take the path
    first (the console's own, at /console), whichever was mounted earlier."""
    gr.mount_gradio_app(
        app, build_analytics(services), path=ANALYTICS_PATH, theme=THEME, footer_links=[]
    )
    routes: list[BaseRoute] = app.router.routes
    mine = next(r for r in reversed(routes) if isinstance(r, Mount) and r.path == ANALYTICS_PATH)
    routes.remove(mine)
    routes.insert(_first_mount(routes), mine)
    return app


def _first_mount(routes: list[BaseRoute]) -> int:
    return next((i for i, r in enumerate(routes) if isinstance(r, Mount)), len(routes))
