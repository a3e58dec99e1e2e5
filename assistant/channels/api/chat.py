"""POST /v1/chat: one turn, as a whole JSON answer or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from assistant.advice.claims import profile_for
from assistant.channels.api.dependencies import Caller, Deps
from assistant.channels.api.schemas import STREAMED_TURN, ChatRequest, ChatResponse
from assistant.channels.auth import Principal
from assistant.settings import Settings
from assistant.turn import TurnRequest, TurnResult

router = APIRouter(tags=["chat"])


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def chat_request(body: ChatRequest, caller: Principal, settings: Settings) -> TurnRequest:
    role = caller.role_for(body.role)
    return TurnRequest(
        body.message,
        role,
        body.session_id,
        owner=caller.owner_as(role),
        profile=profile_for(role, body.profile, body.claims, settings.claims_secret),
    )


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses={200: {"content": STREAMED_TURN, "description": "The turn, or its events"}},
)
def chat(body: ChatRequest, caller: Caller, deps: Deps) -> Any:
    request = chat_request(body, caller, deps.settings)
    if not body.stream:
        return deps.assistant.answer(request).as_dict()
    # Everything that can refuse the turn runs before the first byte: an error is a 4xx,
    # not a broken stream.
    items = deps.assistant.stream(request)

    def events() -> Iterator[str]:
        for item in items:
            if isinstance(item, TurnResult):
                payload = ChatResponse.model_validate(item.as_dict())
                yield sse("done", payload.model_dump(mode="json"))
            else:
                yield sse("delta", {"text": item})

    return StreamingResponse(events(), media_type="text/event-stream")
