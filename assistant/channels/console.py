"""The teller console: a Gradio chat whose answers each keep their sources, a customer
profile form beside it, and the conversation kept in the session store, so a reload or a
server restart loses nothing. What it shows is rendered by console_view."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import gradio as gr
from fastapi import FastAPI

from assistant.advice.advisor import catalog
from assistant.answer.generator import Citation
from assistant.channels.api.dependencies import Services
from assistant.channels.auth import Principal
from assistant.channels.console_access import CONSOLE_PATH
from assistant.channels.console_documents import router as documents_router
from assistant.channels.console_view import (
    ConsoleWording,
    ProfileForm,
    citations_of,
    console_language,
    escape_html,
    escape_markdown,
    message_markdown,
    profile_of,
    profile_problems,
    sources_markdown,
    suggestions_markdown,
    writer_markdown,
)
from assistant.errors import AssistantError, Unauthenticated
from assistant.roles import Role
from assistant.turn import TurnRequest, TurnResult

log = logging.getLogger(__name__)

RISK_LEVELS = ["C1", "C2", "C3", "C4", "C5"]
# Where the browser keeps the console's sessions (one per audience) and the typed draft.
SESSIONS_KEY = "jianglan-console-sessions"
DRAFT_KEY = "jianglan-console-draft"

# The theme's blue passes WCAG AA with white text (7.0:1); Gradio's default orange does not.
THEME = gr.themes.Default(primary_hue=gr.themes.colors.blue).set(
    button_primary_background_fill="#0b4f8a",
    button_primary_background_fill_hover="#083b68",
    button_primary_text_color="#ffffff",
    input_placeholder_color="#52606d",
    body_text_color_subdued="#52606d",
)
CSS = """
.jl-badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 0.85em;
  font-weight: 600; }
.jl-ok { background: #e3f8ee; color: #0b5f3a; }
.jl-refer { background: #fff3c4; color: #6b4b00; }
mark { background: #ffe58a; color: #1f2933; }
#question textarea { font-size: 16px; }
@media (max-width: 640px) {
  button, input[type=radio], label.jl-tap, #role label { min-height: 44px; min-width: 44px; }
  #chat button { min-height: 44px; min-width: 44px; }
}
"""
# An input method's Enter confirms the characters being composed; Gradio's textbox would
# send the half-typed question, so that Enter never reaches it. Gradio names a few of its
# own controls in English or not at all; the observer gives them Chinese names. Gradio
# builds the script into a function from a string: no single quotes in it.
PAGE_SCRIPT = """
() => {
  window.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.isComposing || event.keyCode === 229)
        && event.target.closest && event.target.closest("#question")) {
      event.stopImmediatePropagation();
    }
  }, true);
  const name = () => {
    document.querySelectorAll(".calendar:not([aria-label])").forEach(
      (b) => b.setAttribute("aria-label", "选择日期"));
    document.querySelectorAll("#chat .examples[role=list]").forEach(
      (list) => list.removeAttribute("role"));
    document.querySelectorAll("#chat [aria-label]").forEach((node) => {
      const label = node.getAttribute("aria-label");
      if (label.startsWith("Select example")) {
        node.setAttribute("aria-label", "示例问题：" + node.textContent.trim());
      } else if (label.startsWith("bot") && label.includes("message: ")) {
        node.setAttribute("aria-label", "助手回答");
      } else if (label.startsWith("user") && label.includes("message: ")) {
        node.setAttribute("aria-label", "提问");
      }
    });
  };
  name();
  new MutationObserver(name).observe(document.body, {subtree: true, childList: true});
}
"""


class Console:
    """The console's event handlers, over the same pipeline as every other channel; each
    turn is the signed-in teller's, counted against their rate limit."""

    def __init__(self, services: Services) -> None:
        self.assistant = services.assistant
        self.store = services.store
        self.access = services.console_access
        self.limiter = services.limiter
        self.wording = ConsoleWording.load(services.settings.prompts_dir)
        self.today = services.settings.today

    def language(self, request: gr.Request) -> str:
        return console_language(request.headers.get("accept-language"))

    def teller(self, request: gr.Request) -> Principal:
        try:
            return self.access.teller(request.headers.get("cookie"))
        except Unauthenticated:
            raise gr.Error(self.wording("signed_out", self.language(request))) from None

    def restore(
        self, sessions: dict[str, str] | None, role: str, request: gr.Request
    ) -> tuple[Any, ...]:
        """The conversation this browser had in this audience, read back from the store."""
        teller = self.teller(request)
        session_id = (sessions or {}).get(role)
        language = self.language(request)
        history: list[dict[str, Any]] = []
        turns: dict[str, str] = {}
        stored = self.store.turns(session_id, teller.session_owners) if session_id else []
        for turn in stored:
            citations = citations_of(turn.citations)
            history.append({"role": "user", "content": escape_markdown(turn.question)})
            turns[str(len(history))] = turn.id
            history.append(
                {
                    "role": "assistant",
                    "content": message_markdown(turn.answer, citations, language, self.wording),
                }
            )
        hint = f"_{self.wording('sources_hint', language)}_"
        return history, turns, hint

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        role: str,
        sessions: dict[str, str] | None,
        turns: dict[str, str] | None,
        aum: float | None,
        available: float | None,
        risk: str | None,
        assessed: Any,
        age: float | None,
        horizon: float | None,
        qualified: bool,
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        language = self.language(request)
        if not (message or "").strip():
            raise gr.Error(self.wording("empty_question", language))
        teller = self.teller(request)
        wait = self.limiter.retry_after(teller.owner)
        if wait > 0:
            raise gr.Error(self.wording("rate_limited", language, seconds=f"{wait:.0f}"))
        form = form_of((aum, available, risk, assessed, age, horizon, qualified))
        problems = (
            [] if form.blank else profile_problems(form, self.today(), language, self.wording)
        )
        sessions = dict(sessions or {})
        asked = TurnRequest(
            message,
            Role(role),
            sessions.get(role),
            owner=teller.owner_as(Role(role)),
            profile=None if problems else profile_of(form),
        )
        try:
            items = self.assistant.stream(asked)
        except AssistantError as error:
            log.warning("console turn refused: %s", error)
            raise gr.Error(self.wording("unavailable", language)) from None
        history = [
            *(history or []),
            {"role": "user", "content": escape_markdown(message)},
            {"role": "assistant", "content": ""},
        ]
        turns = dict(turns or {})
        keep = gr.update()
        for item in items:
            if isinstance(item, TurnResult):
                sessions[role] = item.session_id
                turns[str(len(history) - 1)] = item.turn_id
                yield self._finished(item, history, language, problems, sessions, turns)
            else:
                streamed = history[-1]["content"] + escape_html(item)
                history[-1] = {"role": "assistant", "content": streamed}
                yield history, keep, keep, keep, keep, keep, keep

    def _finished(
        self,
        result: TurnResult,
        history: list[dict[str, Any]],
        language: str,
        problems: list[str],
        sessions: dict[str, str],
        turns: dict[str, str],
    ) -> tuple[Any, ...]:
        history[-1] = {
            "role": "assistant",
            "content": message_markdown(result.answer, result.citations, language, self.wording),
        }
        return (
            history,
            "",  # the question box, emptied once the answer is in
            self._sources(result.answer, result.citations, result.generator, language),
            self._suggestions(result, language),
            self._profile_errors(problems, language),
            sessions,
            turns,
        )

    def _sources(
        self, answer: str, citations: list[Citation], generator: str, language: str
    ) -> str:
        writer = writer_markdown(generator, self.assistant.generator.name, language, self.wording)
        return f"{writer}\n\n{sources_markdown(answer, citations, language, self.wording)}"

    def _suggestions(self, result: TurnResult, language: str) -> Any:
        advice = result.advice
        if advice is None:
            return gr.update()
        tier = self.assistant.advisor.wording.tier_name(advice.tier, language)
        products = {p.id: p for p in catalog(self.assistant.index.snapshot())}
        return suggestions_markdown(advice, products, tier, language, self.wording)

    def _profile_errors(self, problems: list[str], language: str) -> Any:
        if not problems:
            return gr.update(value="", visible=False)
        listed = "\n".join(f"- {p}" for p in problems)
        return gr.update(
            value=f"**{self.wording('profile_invalid', language)}**\n{listed}", visible=True
        )

    def check_profile(
        self,
        aum: float | None,
        available: float | None,
        risk: str | None,
        assessed: Any,
        age: float | None,
        horizon: float | None,
        qualified: bool,
        request: gr.Request,
    ) -> Any:
        """The form's problems as the teller types, beside the form, never over the chat."""
        form = form_of((aum, available, risk, assessed, age, horizon, qualified))
        language = self.language(request)
        problems = (
            [] if form.blank else profile_problems(form, self.today(), language, self.wording)
        )
        return self._profile_errors(problems, language)

    def show_sources(
        self,
        sessions: dict[str, str] | None,
        role: str,
        turns: dict[str, str] | None,
        selected: gr.SelectData,
        request: gr.Request,
    ) -> Any:
        """The sources of the answer the teller selects, read back from the store."""
        index = selected.index if isinstance(selected.index, int) else selected.index[0]
        turn_id = (turns or {}).get(str(index))
        session_id = (sessions or {}).get(role)
        if turn_id is None or session_id is None:
            return gr.update()
        teller = self.teller(request)
        stored = {t.id: t for t in self.store.turns(session_id, teller.session_owners)}
        turn = stored.get(turn_id)
        if turn is None:
            return gr.update()
        language = self.language(request)
        return sources_markdown(turn.answer, citations_of(turn.citations), language, self.wording)

    def feedback(
        self, turns: dict[str, str] | None, like: gr.LikeData, request: gr.Request
    ) -> tuple[Any, ...]:
        """A 👍 is recorded at once; a 👎 first asks why, for the content team."""
        language = self.language(request)
        index = like.index if isinstance(like.index, int) else like.index[0]
        turn_id = (turns or {}).get(str(index))
        hidden = gr.update(visible=False)
        if turn_id is None:
            return self.wording("feedback_unknown", language), None, hidden
        if like.liked is True or like.liked == "Like":
            self.store.add_feedback(turn_id, self.teller(request).session_owners, "up", "")
            return self.wording("feedback_thanks", language), None, hidden
        return "", turn_id, gr.update(visible=True)

    def explain_dislike(
        self, turn_id: str | None, reason: str | None, detail: str, request: gr.Request
    ) -> tuple[Any, ...]:
        language = self.language(request)
        if turn_id is None:
            return self.wording("feedback_unknown", language), None, gr.update(visible=False)
        comment = "：".join(part for part in (reason or "", (detail or "").strip()) if part)
        self.store.add_feedback(turn_id, self.teller(request).session_owners, "down", comment)
        return self.wording("feedback_thanks", language), None, gr.update(visible=False)


def form_of(fields: tuple[Any, ...]) -> ProfileForm:
    """The form's fields in the order `_profile_form` lays them out."""
    aum, available, risk, assessed, age, horizon, qualified = fields
    return ProfileForm(aum, available, risk or None, _date(assessed), age, horizon, bool(qualified))


def _date(value: Any) -> date | None:
    """Gradio's date picker sends a timestamp, a date string or nothing; what cannot be
    read as a date counts as not entered."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _chat_column(wording: ConsoleWording) -> tuple[Any, ...]:
    chat = gr.Chatbot(
        label="对话 Conversation",
        height="60vh",
        elem_id="chat",
        placeholder=wording("greeting", "zh-CN"),
        examples=[{"text": q} for q in wording.examples],
        allow_tags=False,
        sanitize_html=True,
        # No "share": a conversation with a customer never leaves the bank.
        buttons=["copy"],
    )
    question = gr.Textbox(
        label="输入问题",
        placeholder="输入问题，例如：大额存单起存金额是多少？（英文提问亦可）",
        show_label=False,
        elem_id="question",
        lines=1,
        max_lines=6,
    )
    with gr.Row():
        role = gr.Radio(
            [("柜员视角（含内部文件）", Role.teller.value), ("客户视角", Role.customer.value)],
            value=Role.teller.value,
            label="检索权限",
            elem_id="role",
        )
        send = gr.Button("发送", variant="primary", elem_id="send")
    thanks = gr.Markdown("", elem_id="feedback")
    with gr.Column(visible=False, elem_id="dislike") as dislike:
        reason = gr.Radio(
            ["答案不正确", "没有回答我的问题", "引用来源不对", "其他"],
            label=wording("feedback_reason", "zh-CN"),
            elem_id="dislike-reason",
        )
        detail = gr.Textbox(label="补充说明（可选）", elem_id="dislike-detail", max_lines=3)
        explain = gr.Button("提交反馈", elem_id="dislike-send")
    return chat, question, role, send, thanks, dislike, reason, detail, explain


def _profile_form() -> list[Any]:
    # No minimum or maximum on the numbers: Gradio would refuse a value outside them with
    # an English error over the field; profile_problems says what is wrong, in Chinese.
    with gr.Row():
        aum = gr.Number(label="资产 AUM（元）", elem_id="aum")
        available = gr.Number(label="可投资金额（元）", elem_id="available")
    with gr.Row():
        risk = gr.Dropdown(
            [("未测评", ""), *[(level, level) for level in RISK_LEVELS]],
            value="",
            label="风险承受能力",
            elem_id="risk-level",
        )
        assessed = gr.DateTime(
            label="测评日期", include_time=False, type="string", elem_id="assessed-on"
        )
    with gr.Row():
        age = gr.Number(label="年龄", precision=0, elem_id="age")
        horizon = gr.Number(label="投资期限（月）", precision=0, elem_id="horizon")
    qualified = gr.Checkbox(label="合格投资者", elem_id="qualified")
    return [aum, available, risk, assessed, age, horizon, qualified]


def build_console(services: Services) -> gr.Blocks:
    """The teller's console; on a keyed server tellers reach it through its sign-in."""
    handlers = Console(services)
    wording = handlers.wording
    with gr.Blocks(title="江澜银行 · 柜员助手") as console:
        gr.Markdown(
            "## 江澜银行 · 柜员助手\n"
            f"[转人工队列]({CONSOLE_PATH}/handoffs) · [数据看板]({CONSOLE_PATH}/analytics)"
            " · [API 文档](/docs)"
        )
        sessions = gr.BrowserState({}, storage_key=SESSIONS_KEY, secret=_browser_secret(services))
        draft = gr.BrowserState("", storage_key=DRAFT_KEY, secret=_browser_secret(services))
        turns = gr.State({})
        disliked = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chat, question, role, send, thanks, dislike, reason, detail, explain = _chat_column(
                    wording
                )
            with gr.Column(scale=2):
                gr.Markdown("### 引用来源")
                sources = gr.Markdown(f"_{wording('sources_hint', 'zh-CN')}_", elem_id="sources")
                with gr.Accordion("客户资料", open=True):
                    form = _profile_form()
                    problems = gr.Markdown(visible=False, elem_id="profile-errors")
                    gr.Markdown("#### 适合的产品")
                    suggestions = gr.Markdown(
                        f"_{wording('profile_hint', 'zh-CN')}_", elem_id="suggestions"
                    )
        inputs = [question, chat, role, sessions, turns, *form]
        outputs = [chat, question, sources, suggestions, problems, sessions, turns]
        send.click(handlers.respond, inputs, outputs)
        question.submit(handlers.respond, inputs, outputs)
        chat.example_select(_example, None, question).then(handlers.respond, inputs, outputs)
        for field in form:
            field.change(handlers.check_profile, form, problems, show_progress="hidden")
        chat.like(handlers.feedback, [turns], [thanks, disliked, dislike])
        explain.click(
            handlers.explain_dislike, [disliked, reason, detail], [thanks, disliked, dislike]
        )
        chat.select(handlers.show_sources, [sessions, role, turns], [sources])
        # The draft lives in the browser: a reload or a restart of the server keeps it.
        question.change(None, [question], [draft], js="(text) => text")
        console.load(handlers.restore, [sessions, role], [chat, turns, sources])
        console.load(None, [draft], [question], js="(text) => text")
        role.change(handlers.restore, [sessions, role], [chat, turns, sources])
    return console


def _example(selected: gr.SelectData) -> str:
    return str(selected.value["text"])


def _browser_secret(services: Services) -> str:
    """What the browser's copy of the session ids is sealed with: stable across restarts,
    so a restarted server still reads it. The ids alone open nothing: the store returns a
    session only to its owner."""
    return services.settings.console_secret or "jianglan-console-sessions"


def mount_console(app: FastAPI, services: Services) -> FastAPI:
    app.include_router(documents_router)
    return gr.mount_gradio_app(
        app,
        build_console(services),
        path=CONSOLE_PATH,
        theme=THEME,
        css=CSS,
        js=PAGE_SCRIPT,
        footer_links=[],
    )
