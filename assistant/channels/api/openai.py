"""POST /v1/chat/completions: the same turn for any OpenAI-compatible client, unmodified.
The client holds the conversation: its earlier user messages are the history."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assistant.channels.api.dependencies import Caller, Deps
from assistant.channels.api.schemas import MODEL_NAME, STREAMED_CHUNKS, CompletionRequest
from assistant.errors import InvalidRequest
from assistant.roles import Role
from assistant.turn import TurnRequest, TurnResult

router = APIRouter(tags=["openai"])


def completion_request(body: CompletionRequest, owner: str, role: Role, turns: int) -> TurnRequest:
    questions = [m.text() for m in body.messages if m.role == "user"]
    if not questions:
        raise InvalidRequest("`messages` needs at least one message with role `user`")
    history = tuple(questions[-1 - turns : -1]) if turns else ()
    return TurnRequest(
        questions[-1], role, session_id=body.session_id, history=history, owner=owner
    )


def extras(turn: TurnResult) -> dict[str, Any]:
    """What our answer adds to OpenAI's shape; clients that do not know it ignore it."""
    return {
        "citations": [c.as_dict() for c in turn.citations],
        "session_id": turn.session_id,
        "turn_id": turn.turn_id,
        "guardrail": {"action": turn.action, "verdicts": [f.as_dict() for f in turn.verdicts]},
    }


def envelope() -> dict[str, Any]:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": MODEL_NAME}


def completion(turn: TurnResult) -> dict[str, Any]:
    return {
        **envelope(),
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": turn.answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **extras(turn),
    }


def chunks(items: Iterator[str | TurnResult]) -> Iterator[str]:
    head = envelope()

    def chunk(delta: dict[str, Any], finish: str | None, **more: Any) -> str:
        payload = {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **more,
        }
        return f"data: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"

    yield chunk({"role": "assistant", "content": ""}, None)
    for item in items:
        if isinstance(item, TurnResult):
            yield chunk({}, "stop", **extras(item))
        else:
            yield chunk({"content": item}, None)
    yield "data: [DONE]\n\n"


@router.post(
    "/chat/completions",
    responses={200: {"content": STREAMED_CHUNKS, "description": "A completion, or its chunks"}},
)
def completions(body: CompletionRequest, caller: Caller, deps: Deps) -> Any:
    turns = deps.settings.history_turns
    role = caller.role_for(None)
    request = completion_request(body, caller.owner_as(role), role, turns)
    if not body.stream:
        return completion(deps.assistant.answer(request))
    items = deps.assistant.stream(request)  # refusals raise here, before the stream starts
    return StreamingResponse(chunks(items), media_type="text/event-stream")
