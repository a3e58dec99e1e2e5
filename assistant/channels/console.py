"""The teller console: a Gradio chat whose answers each keep their sources, a customer
profile form beside it, and the conversation kept in the session store, so a reload or a
server restart loses nothing. What it shows is rendered by console_view."""

from __future__ import annotations

import hashlib
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
    escape_answer,
    escape_markdown,
    label_language,
    message_markdown,
    profile_of,
    profile_problems,
    sources_markdown,
    suggestions_markdown,
    writer_markdown,
)
from assistant.channels.look import THEME
from assistant.errors import AssistantError, NotFound, Unauthenticated
from assistant.roles import Role
from assistant.turn import TurnRequest, TurnResult

log = logging.getLogger(__name__)

RISK_LEVELS = ["C1", "C2", "C3", "C4", "C5"]
# Where the browser keeps which sessions are each teller's (localStorage, sealed with a
# key that is no secret: Gradio hands it to the page) and the typed draft (the tab's
# sessionStorage: raw typing, not yet masked, never outlives the tab). Signing out clears
# both.
SESSIONS_KEY = "jianglan-console-sessions"
BROWSER_STATE_KEY = "jianglan-console-browser-state"
DRAFT_KEY = "jianglan-console-draft"
KEEP_DRAFT = f"(text) => {{ sessionStorage.setItem({DRAFT_KEY!r}, text); }}"
READ_DRAFT = f"() => sessionStorage.getItem({DRAFT_KEY!r}) || ''"

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


# The browser's copy of the console's session ids: which teller's, then which audience's.
Sessions = dict[str, dict[str, str]]


class Console:
    """The console's event handlers, over the same pipeline as every other channel; each
    turn is the signed-in teller's, counted against their rate limit. A conversation lives
    in the session store; the browser keeps only which session is each teller's, so the
    chat is read back from the store after a reload or a restart."""

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

    def stored_turns(self, sessions: Sessions | None, role: str, teller: Principal) -> list[Any]:
        """This teller's conversation in this audience; none when the browser remembers a
        session that is not (or no longer) theirs, as on a shared workstation."""
        session_id = session_of(sessions, teller, role)
        if session_id is None:
            return []
        try:
            return self.store.turns(session_id, teller.session_owners)
        except NotFound:
            return []

    def restore(self, sessions: Sessions | None, role: str, request: gr.Request) -> tuple[Any, ...]:
        """The conversation this browser had in this audience, read back from the store."""
        try:
            stored = self.stored_turns(sessions, role, self.teller(request))
        except AssistantError as error:
            log.warning("console conversation not restored: %s", error)
            raise gr.Error(self.wording("unavailable", self.language(request))) from None
        history: list[dict[str, Any]] = []
        for turn in stored:
            citations = citations_of(turn.citations)
            language = label_language(turn.language)
            history.append({"role": "user", "content": escape_markdown(turn.question)})
            history.append(
                {
                    "role": "assistant",
                    "content": message_markdown(turn.answer, citations, language, self.wording),
                }
            )
        return history, f"_{self.wording('sources_hint', self.language(request))}_"

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        role: str,
        sessions: Sessions | None,
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
        problems = profile_problems(form, self.today(), language, self.wording)
        owner = teller.owner_as(Role(role))
        session_id = session_of(sessions, teller, role)
        if session_id and self.store.owner_of(session_id) not in (None, owner):
            session_id = None  # another teller's, left in this browser: start afresh
        asked = TurnRequest(
            message,
            Role(role),
            session_id,
            owner=owner,
            profile=None if problems else profile_of(form),
        )
        before = list(history or [])
        history = [
            *before,
            {"role": "user", "content": escape_markdown(message)},
            {"role": "assistant", "content": ""},
        ]
        keep = gr.update()
        try:
            for item in self.assistant.stream(asked):
                if isinstance(item, TurnResult):
                    remembered = with_session(sessions, teller, role, item.session_id)
                    yield self._finished(item, history, problems, remembered, language)
                else:
                    streamed = history[-1]["content"] + escape_answer(item)
                    history[-1] = {"role": "assistant", "content": streamed}
                    yield history, keep, keep, keep, keep, keep
        except AssistantError as error:
            # The half-written answer goes; the question stays in the box to send again.
            log.warning("console turn failed: %s", error)
            yield before, message, keep, keep, keep, keep
            raise gr.Error(self.wording("unavailable", language)) from None

    def _finished(
        self,
        result: TurnResult,
        history: list[dict[str, Any]],
        problems: list[str],
        sessions: Sessions,
        language: str,
    ) -> tuple[Any, ...]:
        labels = label_language(result.language)
        history[-1] = {
            "role": "assistant",
            "content": message_markdown(result.answer, result.citations, labels, self.wording),
        }
        return (
            history,
            "",  # the question box, emptied once the answer is in
            self._sources(result.answer, result.citations, result.generator, labels),
            self._suggestions(result, language),
            self._profile_errors(problems, language),
            sessions,
        )

    def _sources(
        self, answer: str, citations: list[Citation], generator: str, language: str
    ) -> str:
        writer = writer_markdown(generator, self.assistant.generator.name, language, self.wording)
        return f"{writer}\n\n{sources_markdown(answer, citations, language, self.wording)}"

    def _suggestions(self, result: TurnResult, language: str) -> str:
        """This turn's customer's suggestions; without a profile, none: an earlier
        customer's must not stay beside the next one's conversation."""
        advice = result.advice
        if advice is None:
            return f"_{self.wording('profile_hint', language)}_"
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
        return self._profile_errors(
            profile_problems(form, self.today(), language, self.wording), language
        )

    def turn_at(self, sessions: Sessions | None, role: str, index: Any, request: gr.Request) -> Any:
        """The stored turn a message of the chat belongs to: the chat holds each turn as a
        question and its answer, in the store's order."""
        position = (index if isinstance(index, int) else index[0]) // 2
        stored = self.stored_turns(sessions, role, self.teller(request))
        return stored[position] if position < len(stored) else None

    def show_sources(
        self, sessions: Sessions | None, role: str, selected: gr.SelectData, request: gr.Request
    ) -> Any:
        """The sources of the answer the teller selects, read back from the store."""
        turn = self.turn_at(sessions, role, selected.index, request)
        if turn is None:
            return gr.update()
        citations = citations_of(turn.citations)
        language = label_language(turn.language)
        return sources_markdown(turn.answer, citations, language, self.wording)

    def feedback(
        self, sessions: Sessions | None, role: str, like: gr.LikeData, request: gr.Request
    ) -> tuple[Any, ...]:
        """A 👍 is recorded at once; a 👎 first asks why, for the content team."""
        language = self.language(request)
        turn = self.turn_at(sessions, role, like.index, request)
        hidden = gr.update(visible=False)
        if turn is None:
            return self.wording("feedback_unknown", language), None, hidden
        if like.liked is True or like.liked == "Like":
            self.store.add_feedback(turn.id, self.teller(request).session_owners, "up", "")
            return self.wording("feedback_thanks", language), None, hidden
        return "", turn.id, gr.update(visible=True)

    def explain_dislike(
        self, turn_id: str | None, reason: str | None, detail: str, request: gr.Request
    ) -> tuple[Any, ...]:
        language = self.language(request)
        if turn_id is None:
            return self.wording("feedback_unknown", language), None, gr.update(visible=False)
        comment = "：".join(part for part in (reason or "", (detail or "").strip()) if part)
        self.store.add_feedback(turn_id, self.teller(request).session_owners, "down", comment)
        return self.wording("feedback_thanks", language), None, gr.update(visible=False)


def teller_key(teller: Principal) -> str:
    """Who a browser's session ids belong to, without naming them in the browser."""
    return hashlib.sha256(teller.owner.encode()).hexdigest()[:16]


def session_of(sessions: Sessions | None, teller: Principal, role: str) -> str | None:
    return (sessions or {}).get(teller_key(teller), {}).get(role)


def with_session(
    sessions: Sessions | None, teller: Principal, role: str, session_id: str
) -> Sessions:
    remembered = {key: dict(value) for key, value in (sessions or {}).items()}
    remembered.setdefault(teller_key(teller), {})[role] = session_id
    return remembered


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
        label=wording.label("chat"),
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
        label=wording.label("question"),
        placeholder=wording.label("question_placeholder"),
        show_label=False,
        elem_id="question",
        lines=1,
        max_lines=6,
    )
    with gr.Row():
        role = gr.Radio(
            [
                (wording.label("audience_teller"), Role.teller.value),
                (wording.label("audience_customer"), Role.customer.value),
            ],
            value=Role.teller.value,
            label=wording.label("audience"),
            elem_id="role",
        )
        send = gr.Button(wording.label("send"), variant="primary", elem_id="send")
    thanks = gr.Markdown("", elem_id="feedback")
    with gr.Column(visible=False, elem_id="dislike") as dislike:
        reason = gr.Radio(
            wording.dislike_reasons,
            label=wording("feedback_reason", "zh-CN"),
            elem_id="dislike-reason",
        )
        detail = gr.Textbox(
            label=wording.label("dislike_detail"), elem_id="dislike-detail", max_lines=3
        )
        explain = gr.Button(wording.label("dislike_send"), elem_id="dislike-send")
    return chat, question, role, send, thanks, dislike, reason, detail, explain


def _profile_form(wording: ConsoleWording) -> list[Any]:
    def label(field: str) -> str:
        return wording.named("fields", field, "zh-CN")

    # No minimum or maximum on the numbers: Gradio would refuse a value outside them with
    # an English error over the field; profile_problems says what is wrong, in Chinese.
    with gr.Row():
        aum = gr.Number(label=label("aum"), elem_id="aum")
        available = gr.Number(label=label("available_amount"), elem_id="available")
    with gr.Row():
        risk = gr.Dropdown(
            [(wording.label("not_assessed"), ""), *[(level, level) for level in RISK_LEVELS]],
            value="",
            label=label("risk_level"),
            elem_id="risk-level",
        )
        assessed = gr.DateTime(
            label=label("risk_assessed_on"),
            include_time=False,
            type="string",
            elem_id="assessed-on",
        )
    with gr.Row():
        age = gr.Number(label=label("age"), precision=0, elem_id="age")
        horizon = gr.Number(label=label("horizon_months"), precision=0, elem_id="horizon")
    qualified = gr.Checkbox(label=label("qualified_investor"), elem_id="qualified")
    return [aum, available, risk, assessed, age, horizon, qualified]


def build_console(services: Services) -> gr.Blocks:
    """The teller's console; on a keyed server tellers reach it through its sign-in."""
    handlers = Console(services)
    wording = handlers.wording
    with gr.Blocks(title=wording.label("title")) as console:
        gr.Markdown(f"## {wording.label('title')}\n{wording.label('links')}")
        sessions = gr.BrowserState({}, storage_key=SESSIONS_KEY, secret=BROWSER_STATE_KEY)
        disliked = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chat, question, role, send, thanks, dislike, reason, detail, explain = _chat_column(
                    wording
                )
            with gr.Column(scale=2):
                gr.Markdown(f"### {wording.label('sources')}")
                sources = gr.Markdown(f"_{wording('sources_hint', 'zh-CN')}_", elem_id="sources")
                with gr.Accordion(wording.label("profile"), open=True):
                    form = _profile_form(wording)
                    problems = gr.Markdown(visible=False, elem_id="profile-errors")
                    gr.Markdown(f"#### {wording.label('suggestions')}")
                    suggestions = gr.Markdown(
                        f"_{wording('profile_hint', 'zh-CN')}_", elem_id="suggestions"
                    )
        inputs = [question, chat, role, sessions, *form]
        outputs = [chat, question, sources, suggestions, problems, sessions]
        send.click(handlers.respond, inputs, outputs)
        question.submit(handlers.respond, inputs, outputs)
        chat.example_select(_example, None, question).then(handlers.respond, inputs, outputs)
        for field in form:
            field.change(handlers.check_profile, form, problems, show_progress="hidden")
        chat.like(handlers.feedback, [sessions, role], [thanks, disliked, dislike])
        explain.click(
            handlers.explain_dislike, [disliked, reason, detail], [thanks, disliked, dislike]
        )
        chat.select(handlers.show_sources, [sessions, role], [sources])
        # The draft lives in the browser: a reload or a restart of the server keeps it.
        question.change(None, [question], None, js=KEEP_DRAFT)
        console.load(handlers.restore, [sessions, role], [chat, sources])
        console.load(None, None, [question], js=READ_DRAFT)
        role.change(handlers.restore, [sessions, role], [chat, sources])
    return console


def _example(selected: gr.SelectData) -> str:
    return str(selected.value["text"])


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
