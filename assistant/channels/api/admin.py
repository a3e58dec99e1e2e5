"""POST /v1/admin/ingest: re-index (part of) the knowledge folder, one re-index at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter

from assistant.channels.api.dependencies import Caller, Deps
from assistant.channels.api.schemas import IngestRequest
from assistant.errors import Conflict, Forbidden, InvalidRequest
from assistant.ingest.documents import PlainFileDefaults
from assistant.service import ingest_paths, ingest_summary, prepare_vectors

router = APIRouter(prefix="/admin", tags=["admin"])


class IngestRunning(Conflict):
    """Another re-index holds the index; retry when it has finished."""

    code = "ingest_running"


def targets_inside(root: Path, paths: list[str]) -> list[Path]:
    """The paths asked for, each of which must exist inside the knowledge folder."""
    root = root.resolve()
    try:
        targets = [(root / p).resolve() for p in paths] or [root]
        outside = [str(t) for t in targets if not t.is_relative_to(root) or not t.exists()]
    except (OSError, ValueError) as error:  # a NUL, a name too long, a path too deep
        raise InvalidRequest(f"a path cannot name a file here: {error}") from None
    if outside:
        raise InvalidRequest(
            f"paths must exist inside the knowledge folder {root}: {', '.join(outside)}"
        )
    return targets


@router.post("/ingest")
def admin_ingest(body: IngestRequest, caller: Caller, deps: Deps) -> dict[str, Any]:
    if not caller.may_reindex:
        raise Forbidden("re-indexing needs an admin key")
    targets = targets_inside(deps.settings.knowledge_dir, body.paths)
    if not deps.ingest_lock.acquire(blocking=False):
        raise IngestRunning("another ingest is running; try again when it has finished")
    try:
        loaded, report = ingest_paths(
            deps.assistant.index, targets, PlainFileDefaults(audience=body.audience), body.prune
        )
        prepare_vectors(deps.settings, deps.assistant)
    finally:
        deps.ingest_lock.release()
    return ingest_summary(loaded, report)
