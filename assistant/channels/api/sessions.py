"""Reading a session back, and rating a turn of it."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Security

from assistant.channels.api.dependencies import App, Caller, authenticated
from assistant.channels.api.schemas import FeedbackRequest

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["sessions"], dependencies=[Security(authenticated)])


@router.get("/sessions/{session_id}")
def session(session_id: str, caller: Caller, app: App) -> dict[str, Any]:
    owners = None if caller.is_admin else caller.session_owners
    turns = app.store.turns(session_id, owners)
    return {
        "session_id": session_id,
        "turns": [t.as_dict() for t in turns],
        "handoffs": app.store.handoffs(session_id),
    }


feedback_router = APIRouter(
    prefix="/v1", tags=["feedback"], dependencies=[Security(authenticated)]
)


@feedback_router.post("/feedback", status_code=201)
def feedback(body: FeedbackRequest, caller: Caller, app: App) -> dict[str, str]:
    owners = None if caller.is_admin else caller.session_owners
    feedback_id = app.store.add_feedback(body.turn_id, owners, body.rating, body.comment)
    log.info("feedback %s on turn %s: %s", feedback_id, body.turn_id, body.rating)
    return {"feedback_id": feedback_id, "turn_id": body.turn_id}
