"""The staff queue of hand-offs: list them by state, take one, close one with how it was
resolved. For staff only: a teller's or an administrator's credential (and the developer's
own machine in open local mode); a customer app or an intranet employee is refused."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from assistant.channels.api.dependencies import Caller, Deps
from assistant.channels.api.schemas import (
    HANDOFF_REFERENCE,
    AssignRequest,
    CloseRequest,
    HandoffQueue,
    QueuedHandoffInfo,
)
from assistant.channels.auth import Principal
from assistant.errors import Forbidden
from assistant.memory.store import HandoffState, QueuedHandoff
from assistant.roles import Role

log = logging.getLogger(__name__)

router = APIRouter(prefix="/handoffs", tags=["handoffs"])

STAFF_ONLY = (
    "转人工队列仅供柜员和管理员使用，请使用柜员或管理员密钥。"
    " / The hand-off queue is for tellers and administrators only: use a teller or admin key."
)


def works_the_queue(caller: Principal) -> bool:
    """A caller who may answer as a teller, or an administrator. A teller's key and open
    local mode may; a customer app's key and an intranet employee's may not."""
    return caller.is_admin or Role.teller in caller.roles


def staff(caller: Caller) -> Principal:
    if not works_the_queue(caller):
        raise Forbidden(STAFF_ONLY)
    return caller


Staff = Annotated[Principal, Depends(staff)]
Reference = Annotated[str, Path(pattern=HANDOFF_REFERENCE, description="The hand-off's reference.")]


def info(handoff: QueuedHandoff) -> QueuedHandoffInfo:
    return QueuedHandoffInfo.model_validate(handoff, from_attributes=True)


@router.get("", response_model=HandoffQueue)
def queue(
    _: Staff,
    deps: Deps,
    state: Annotated[HandoffState | None, Query(description="Only those in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many.")] = 100,
) -> HandoffQueue:
    return HandoffQueue(handoffs=[info(h) for h in deps.store.queue(state, limit)])


@router.post("/{reference}/assign", response_model=QueuedHandoffInfo)
def assign(
    reference: Reference, body: AssignRequest, caller: Staff, deps: Deps
) -> QueuedHandoffInfo:
    assigned = deps.store.assign(reference, body.assignee)
    log.info("hand-off %s assigned to %s by %s", reference, assigned.assignee, caller.owner)
    return info(assigned)


@router.post("/{reference}/close", response_model=QueuedHandoffInfo)
def close(reference: Reference, body: CloseRequest, caller: Staff, deps: Deps) -> QueuedHandoffInfo:
    closed = deps.store.close(reference, body.resolution)
    log.info("hand-off %s closed by %s", reference, caller.owner)
    return info(closed)
