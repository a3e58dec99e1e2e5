"""What the audit trail keeps of a turn: who asked, in which channel and role, what was
asked (masked) and released, from which documents in which version, and every verdict.
Pure functions from a turn to the record's content; the trail itself lives in memory/."""

from __future__ import annotations

import hashlib
from typing import Any

from assistant.search.index import Snapshot
from assistant.turn import TurnRequest, TurnResult


def started(request: TurnRequest, turn_id: str, session_id: str) -> dict[str, Any]:
    """Written before the first word of a reply leaves: a reply never goes unrecorded."""
    return {
        "turn_id": turn_id,
        "session_id": session_id,
        "principal": request.owner,
        "channel": request.owner.split(":", 1)[0],
        "role": str(request.role),
    }


def released(result: TurnResult, request: TurnRequest, snapshot: Snapshot | None) -> dict[str, Any]:
    """The turn exactly as released, and what it rests on."""
    documents = snapshot.documents if snapshot else {}
    return {
        **started(request, result.turn_id, result.session_id),
        "question": result.question,
        "answer": result.answer,
        "language": result.language,
        "action": result.action,
        "grounded": result.grounded,
        "citations": [
            {
                "doc_id": c.doc_id,
                "chunk_id": c.chunk_id,
                "document_hash": documents[c.doc_id].content_hash
                if c.doc_id in documents
                else None,
                "passage_hash": hashlib.sha256(c.passage.encode("utf-8")).hexdigest(),
                "effective_from": c.effective_from,
                "effective_to": c.effective_to,
            }
            for c in result.citations
        ],
        "verdicts": [v.as_dict() for v in result.verdicts],
        "suggestions": result.advice.as_dict() if result.advice else None,
        "handoff": (
            {"reference": result.handoff.reference, "kind": result.handoff.kind}
            if result.handoff
            else None
        ),
        "index_generation": result.generation,
        "answered_by": result.generator,
        "standalone_question": result.standalone,
        "decline_reason": result.decline_reason,
        "latency_ms": round(result.elapsed_ms, 1),
    }
