"""The teller console: a Gradio chat with the sources of every answer beside it."""

from __future__ import annotations

from typing import Any

import gradio as gr
from fastapi import FastAPI

from assistant.generation import Citation
from assistant.index import IndexNotBuilt
from assistant.pipeline import Assistant, InvalidRequest, TurnRequest
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


def build_console(assistant: Assistant) -> gr.Blocks:
    def respond(
        message: str, history: list[dict[str, Any]], role: str, session_id: str | None
    ) -> tuple[list[dict[str, Any]], str, str, str | None]:
        history = list(history or [])
        try:
            result = assistant.answer(
                TurnRequest(message=message, role=Role(role), session_id=session_id or None)
            )
        except (InvalidRequest, IndexNotBuilt) as error:
            raise gr.Error(str(error)) from None
        history.append({"role": "user", "content": message})
        history.append({"role": "assistant", "content": result.answer})
        return history, "", citations_markdown(result.citations), result.session_id

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
        outputs = [chat, question, sources, session]
        send.click(respond, [question, chat, role, session], outputs)
        question.submit(respond, [question, chat, role, session], outputs)
    return console


def mount_console(app: FastAPI, assistant: Assistant) -> FastAPI:
    return gr.mount_gradio_app(app, build_console(assistant), path=CONSOLE_PATH)
