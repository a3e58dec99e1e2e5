"""The teller console: a Gradio chat with the sources of every answer beside it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr
from fastapi import FastAPI
from pydantic import ValidationError

from assistant.generation import Citation
from assistant.index import IndexNotBuilt
from assistant.pipeline import InvalidRequest, TurnRequest
from assistant.recommend import TIER_NAMES, Profile
from assistant.roles import Role
from assistant.sessions import ChatService

CONSOLE_PATH = "/console"
# Console turns belong to the console; the sign-in in front of it knows which teller.
CONSOLE_OWNER = "console:teller"


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


def suggestions_markdown(suggestions: dict[str, Any] | None) -> str:
    if not suggestions:
        return "_填写客户资料后，这里显示适合的产品与排除原因。_"
    lines = [
        f"**客户层级：{TIER_NAMES[suggestions['tier']]}**"
        + ("" if suggestions["risk_assessment_valid"] else "（风险评估缺失或已过期）")
    ]
    lines += [f"- ✅ {item['why']}" for item in suggestions["eligible"]]
    lines += [f"- 🤝 `{item['id']}` {item['reason']}" for item in suggestions["handoff"]]
    lines += [
        f"- ⛔ `{item['id']}` [{item['rule']}] {item['reason']}" for item in suggestions["excluded"]
    ]
    return "\n".join(lines)


def build_console(chats: ChatService) -> gr.Blocks:
    """The teller's console; tellers reach it through the bank's sign-in in front of it."""

    def respond(
        message: str,
        history: list[dict[str, Any]],
        role: str,
        session_id: str | None,
        profile_json: str | None,
        turns: dict[int, str],
    ) -> Iterator[tuple[Any, ...]]:
        history = list(history or [])
        turns = dict(turns or {})
        try:
            profile = (
                Profile.model_validate_json(profile_json) if (profile_json or "").strip() else None
            )
        except ValidationError as error:
            raise gr.Error(f"客户资料格式有误 / invalid profile: {error}") from None
        request = TurnRequest(message=message, role=Role(role), session_id=session_id or None)
        try:
            chats.assistant.validate(request)
        except InvalidRequest as error:
            raise gr.Error(str(error)) from None
        history += [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
        keep = gr.update()
        try:
            for item in chats.stream(request, CONSOLE_OWNER, profile):
                if isinstance(item, str):
                    history[-1] = {"role": "assistant", "content": history[-1]["content"] + item}
                    yield history, "", keep, session_id, keep, turns
                    continue
                history[-1] = {"role": "assistant", "content": item["answer"]}
                turns[len(history) - 1] = item["turn_id"]
                citations = [Citation(**c) for c in item["citations"]]
                yield (
                    history,
                    "",
                    citations_markdown(citations),
                    item["session_id"],
                    suggestions_markdown(item.get("suggestions")),
                    turns,
                )
        except (InvalidRequest, IndexNotBuilt) as error:
            raise gr.Error(str(error)) from None

    def feedback(turns: dict[int, str], like: gr.LikeData) -> str:
        turn_id = (turns or {}).get(like.index if isinstance(like.index, int) else like.index[0])
        if turn_id is None:
            return "_这条消息无法评价 / this message cannot be rated._"
        rating = "up" if like.liked is True or like.liked == "Like" else "down"
        chats.store.add_feedback(turn_id, CONSOLE_OWNER, rating, "")
        return "_已记录反馈，谢谢 / feedback recorded, thank you._"

    with gr.Blocks(title="江澜银行 · 柜员助手") as console:
        gr.Markdown("## 江澜银行 · 柜员助手 Teller assistant")
        session = gr.State(None)
        turns = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
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
            with gr.Column(scale=2):
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
        inputs = [question, chat, role, session, profile, turns]
        outputs = [chat, question, sources, session, suggestions, turns]
        send.click(respond, inputs, outputs)
        question.submit(respond, inputs, outputs)
        chat.like(feedback, [turns], [thanks])
    return console


def mount_console(app: FastAPI, chats: ChatService) -> FastAPI:
    return gr.mount_gradio_app(app, build_console(chats), path=CONSOLE_PATH)
