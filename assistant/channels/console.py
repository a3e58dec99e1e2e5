"""The teller console: a Gradio chat with the sources of every answer beside it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
from fastapi import FastAPI
from pydantic import ValidationError

from assistant.advice.advisor import Advice
from assistant.advice.rules import Profile
from assistant.answer.generator import Citation
from assistant.channels.api.dependencies import Services
from assistant.channels.auth import Principal
from assistant.channels.console_access import CONSOLE_PATH
from assistant.errors import AssistantError
from assistant.roles import Role
from assistant.turn import TurnRequest, TurnResult

# How the console names who wrote an answer; a plugin's generator shows under its own name.
WRITERS = {"extractive": "原文摘录", "llm": "语言模型（逐句核对出处）"}


def writer_markdown(result: TurnResult, configured: str) -> str:
    """Which generator answered, and that another stood in when one did."""
    line = f"_回答方式：{WRITERS.get(result.generator, result.generator)}_"
    if result.generator and result.generator != configured:
        line += f"  \n_{WRITERS.get(configured, configured)}本轮未能作答，已由上述方式代答。_"
    return line


def citations_markdown(citations: list[Citation]) -> str:
    if not citations:
        return "_本轮回答没有引用来源。_"
    blocks = []
    for c in citations:
        validity = f"{c.effective_from or '—'} 至 {c.effective_to or '长期'}"
        section = f" · {c.section}" if c.section else ""
        quoted = c.passage.replace("\n", "\n> ")
        blocks.append(
            f"**[{c.n}] {c.title}**{section}  \n`{c.doc_id}` · 有效期 {validity}\n\n> {quoted}"
        )
    return "\n\n".join(blocks)


def suggestions_markdown(advice: Advice | None, tier_name: str = "") -> str:
    if advice is None:
        return "_填写客户资料后，这里显示适合的产品与排除原因。_"
    lines = [
        f"**客户层级：{tier_name or advice.tier}**"
        + ("" if advice.risk_assessment_valid else "（风险评估缺失或已过期）")
    ]
    lines += [f"- ✅ {s.explanation}" for s in advice.suggestions]
    lines += [f"- 🤝 `{e.product_id}` {e.reason}" for e in advice.handoff]
    lines += [f"- ⛔ `{e.product_id}` [{e.rule}] {e.reason}" for e in advice.excluded]
    return "\n".join(lines)


def parse_profile(profile_json: str | None) -> Profile | None:
    if not (profile_json or "").strip():
        return None
    try:
        return Profile.model_validate_json(profile_json or "")
    except ValidationError as error:
        raise gr.Error(f"客户资料格式有误 / invalid profile: {error}") from None


class Console:
    """The console's event handlers, over the same pipeline as every other channel; each
    turn is the signed-in teller's, counted against their rate limit."""

    def __init__(self, services: Services) -> None:
        self.assistant = services.assistant
        self.store = services.store
        self.access = services.console_access
        self.limiter = services.limiter

    def teller(self, request: gr.Request) -> Principal:
        try:
            return self.access.teller(request.headers.get("cookie"))
        except AssistantError as error:
            raise gr.Error(str(error)) from None

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        role: str,
        session_id: str | None,
        profile_json: str | None,
        turns: dict[int, str],
        request: gr.Request,
    ) -> Iterator[tuple[Any, ...]]:
        teller = self.teller(request)
        wait = self.limiter.retry_after(teller.owner)
        if wait > 0:
            raise gr.Error(f"请求过于频繁，请 {wait:.0f} 秒后再试。/ Too many requests.")
        asked = TurnRequest(
            message,
            Role(role),
            session_id or None,
            owner=teller.owner_as(Role(role)),
            profile=parse_profile(profile_json),
        )
        try:
            items = self.assistant.stream(asked)
        except AssistantError as error:
            raise gr.Error(str(error)) from None
        history = [
            *(history or []),
            {"role": "user", "content": message},
            {"role": "assistant", "content": ""},
        ]
        turns = dict(turns or {})
        keep = gr.update()
        for item in items:
            if isinstance(item, TurnResult):
                yield self._finished(item, history, turns)
            else:
                history[-1] = {"role": "assistant", "content": history[-1]["content"] + item}
                yield history, "", keep, session_id, keep, turns

    def _finished(
        self, result: TurnResult, history: list[dict[str, Any]], turns: dict[int, str]
    ) -> tuple[Any, ...]:
        history[-1] = {"role": "assistant", "content": result.answer}
        turns[len(history) - 1] = result.turn_id
        advice = result.advice
        tier = self.assistant.advisor.wording.tier_name(advice.tier, "zh-CN") if advice else ""
        return (
            history,
            "",
            writer_markdown(result, self.assistant.generator.name)
            + "\n\n"
            + citations_markdown(result.citations),
            result.session_id,
            suggestions_markdown(advice, tier),
            turns,
        )

    def feedback(self, turns: dict[int, str], like: gr.LikeData, request: gr.Request) -> str:
        index = like.index if isinstance(like.index, int) else like.index[0]
        turn_id = (turns or {}).get(index)
        if turn_id is None:
            return "_这条消息无法评价 / this message cannot be rated._"
        rating = "up" if like.liked is True or like.liked == "Like" else "down"
        self.store.add_feedback(turn_id, self.teller(request).session_owners, rating, "")
        return "_已记录反馈，谢谢 / feedback recorded, thank you._"


def _chat_column() -> tuple[gr.Chatbot, gr.Textbox, gr.Radio, gr.Button, gr.Markdown]:
    chat = gr.Chatbot(label="对话 Conversation", height=460, elem_id="chat")
    question = gr.Textbox(
        placeholder="输入问题，例如：大额存单起存金额是多少？ / Ask in English",
        show_label=False,
        elem_id="question",
    )
    with gr.Row():
        role = gr.Radio(
            [Role.teller.value, Role.customer.value],
            value="teller",
            label="检索权限 Audience",
            elem_id="role",
        )
        send = gr.Button("发送 Send", variant="primary", elem_id="send")
    thanks = gr.Markdown("", elem_id="feedback")
    return chat, question, role, send, thanks


def _side_column() -> tuple[gr.Markdown, gr.Code, gr.Markdown]:
    gr.Markdown("### 引用来源 Sources")
    sources = gr.Markdown("_提问后在此显示引用的文档段落。_", elem_id="sources")
    with gr.Accordion("客户资料 Customer profile", open=False):
        profile = gr.Code(
            value="",
            language="json",
            elem_id="profile",
            label="JSON：aum, available_amount, risk_level, risk_assessed_on, age …",
        )
        suggestions = gr.Markdown(suggestions_markdown(None), elem_id="suggestions")
    return sources, profile, suggestions


def build_console(services: Services) -> gr.Blocks:
    """The teller's console; on a keyed server tellers reach it through its sign-in."""
    handlers = Console(services)
    with gr.Blocks(title="江澜银行 · 柜员助手") as console:
        gr.Markdown("## 江澜银行 · 柜员助手 Teller assistant")
        session = gr.State(None)
        turns = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chat, question, role, send, thanks = _chat_column()
            with gr.Column(scale=2):
                sources, profile, suggestions = _side_column()
        inputs = [question, chat, role, session, profile, turns]
        outputs = [chat, question, sources, session, suggestions, turns]
        send.click(handlers.respond, inputs, outputs)
        question.submit(handlers.respond, inputs, outputs)
        chat.like(handlers.feedback, [turns], [thanks])
    return console


def mount_console(app: FastAPI, services: Services) -> FastAPI:
    return gr.mount_gradio_app(app, build_console(services), path=CONSOLE_PATH)
