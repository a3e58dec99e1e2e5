"""Rating a turn: thumbs up or down, with a comment, tied to a turn of the caller's own."""

from __future__ import annotations

import logging

from fastapi import APIRouter

from assistant.channels.api.dependencies import Caller, Deps
from assistant.channels.api.schemas import FeedbackRequest

log = logging.getLogger(__name__)

router = APIRouter(tags=["feedback"])


@router.post("/feedback", status_code=201)
def feedback(body: FeedbackRequest, caller: Caller, deps: Deps) -> dict[str, str]:
    owners = None if caller.is_admin else caller.session_owners
    feedback_id = deps.store.add_feedback(body.turn_id, owners, body.rating, body.comment)
    log.info("feedback %s on turn %s: %s", feedback_id, body.turn_id, body.rating)
    return {"feedback_id": feedback_id, "turn_id": body.turn_id}
