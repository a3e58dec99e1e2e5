"""The teller console: a Gradio chat with the sources of every answer beside it."""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI
from pydantic import ValidationError

from assistant.advisor import advise
from assistant.generation import Citation
from assistant.index import IndexNotBuilt
from assistant.pipeline import Assistant, InvalidRequest, TurnRequest
from assistant.recommend import TIER_NAMES, Profile
from assistant.roles import Role

CONSOLE_PATH = "/console"


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


def build_console(assistant: Assistant) -> gr.Blocks:
    def respond(
        message: str,
        history: list[dict[str, Any]],
        role: str,
        session_id: str | None,
        profile_json: str | None,
    ) -> tuple[list[dict[str, Any]], str, str, str | None, str]:
        history = list(history or [])
        try:
            profile = (
                Profile.model_validate_json(profile_json) if (profile_json or "").strip() else None
            )
        except ValidationError as error:
            raise gr.Error(f"客户资料格式有误 / invalid profile: {error}") from None
        try:
            request = TurnRequest(message=message, role=Role(role), session_id=session_id or None)
            result = advise(assistant, request, profile)
        except (InvalidRequest, IndexNotBuilt) as error:
            raise gr.Error(str(error)) from None
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": result["answer"]})
        citations = [Citation(**c) for c in result["citations"]]
        return (
            history,
            "",
            citations_markdown(citations),
            result["session_id"],
            suggestions_markdown(result.get("suggestions")),
        )

    with gr.Blocks(title="江澜银行 · 柜员助手") as console:
        gr.Markdown("## 江澜银行 · 柜员助手 Teller assistant")
        session = gr.State(None)
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(label="对话 Conversation", height=460, elem_id="chat")
                question = gr.Textbox(
                    placeholder="输入问题，例如：大额存单起存金额是多少？",
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
        inputs = [question, chat, role, session, profile]
        outputs = [chat, question, sources, session, suggestions]
        send.click(respond, inputs, outputs)
        question.submit(respond, inputs, outputs)
    return console


def mount_console(app: FastAPI, assistant: Assistant) -> FastAPI:
    return gr.mount_gradio_app(app, build_console(assistant), path=CONSOLE_PATH)
