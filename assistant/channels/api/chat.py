"""POST /v1/chat: one turn, as a whole JSON answer or as server-sent events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Security
from fastapi.responses import StreamingResponse

from assistant.advice.claims import profile_from_token
from assistant.advice.rules import Profile
from assistant.channels.api.dependencies import App, Caller, authenticated
from assistant.channels.api.schemas import ChatRequest, ChatResponse
from assistant.channels.auth import Principal
from assistant.errors import InvalidRequest
from assistant.roles import Role
from assistant.settings import Settings
from assistant.turn import TurnRequest, TurnResult

router = APIRouter(prefix="/v1", tags=["chat"], dependencies=[Security(authenticated)])


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def profile_of(body: ChatRequest, role: Role, settings: Settings) -> Profile | None:
    """The teller states the profile; a customer's comes only from the app backend's
    signed claims, never from what the request says."""
    if role is Role.customer and body.profile is not None:
        raise InvalidRequest(
            "a customer's profile comes only from the app backend's signed claims; "
            "send it as `claims`, not `profile`"
        )
    if role is not Role.customer and body.claims is not None:
        raise InvalidRequest("`claims` are for the customer channel; tellers send `profile`")
    if body.claims is not None:
        return profile_from_token(body.claims, settings.claims_secret)
    return body.profile


def chat_request(body: ChatRequest, caller: Principal, settings: Settings) -> TurnRequest:
    role = caller.role_for(body.role)
    return TurnRequest(
        body.message,
        role,
        body.session_id,
        owner=caller.owner_as(role),
        profile=profile_of(body, role, settings),
    )


@router.post("/chat", response_model=ChatResponse, response_model_exclude_none=True)
def chat(body: ChatRequest, caller: Caller, app: App) -> Any:
    request = chat_request(body, caller, app.settings)
    if not body.stream:
        return app.assistant.answer(request).as_dict()
    # Everything that can refuse the turn runs before the first byte: an error is a 4xx,
    # not a broken stream.
    items = app.assistant.stream(request)

    def events() -> Iterator[str]:
        for item in items:
            if isinstance(item, TurnResult):
                payload = ChatResponse.model_validate(item.as_dict())
                yield sse("done", payload.model_dump(exclude_none=True))
            else:
                yield sse("delta", {"text": item})

    return StreamingResponse(events(), media_type="text/event-stream")
