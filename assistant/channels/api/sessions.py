"""Reading a session back."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter

from assistant.channels.api.dependencies import Caller, Deps

log = logging.getLogger(__name__)

router = APIRouter(tags=["sessions"])


@router.get("/sessions/{session_id}")
def session(session_id: str, caller: Caller, deps: Deps) -> dict[str, Any]:
    owners = None if caller.is_admin else caller.session_owners
    turns = deps.store.turns(session_id, owners)
    # Each turn with the rating it was last given, so a page that reads the session back
    # shows it rated and does not ask again.
    return {
        "session_id": session_id,
        "turns": [{**t.as_dict(), "rating": last_rating(deps, t.id)} for t in turns],
        "handoffs": deps.store.handoffs(session_id),
    }


def last_rating(deps: Deps, turn_id: str) -> str | None:
    ratings = deps.store.feedback_for(turn_id)
    return ratings[-1][0] if ratings else None
