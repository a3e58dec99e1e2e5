"""The same store and audit code on PostgreSQL: sessions kept and read back by their owner,
the audit chain verified, and the database's own refusal of changes to the trail."""

from __future__ import annotations

import json

import pytest
import sqlalchemy

from assistant.memory.audit import AuditTrail
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.turn import TurnRequest


def test_turns_are_kept_and_read_back_by_their_owner_on_postgres(
    assistant: Assistant, postgres_url: str
) -> None:
    store = ConversationStore(postgres_url)
    trail = AuditTrail(postgres_url)
    served = assistant.with_memory(store, trail)
    owner = "app:pg-1:customer"
    first = served.answer(TurnRequest("大额存单起存金额是多少？", Role.customer, owner=owner))
    served.answer(TurnRequest("那两年的呢？", Role.customer, first.session_id, owner=owner))
    turns = store.turns(first.session_id, frozenset({owner}))
    assert [t.question for t in turns] == ["大额存单起存金额是多少？", "那两年的呢？"]
    assert store.history(first.session_id, owner, 3) == [t.question for t in turns]
    count, problems = trail.verify()
    assert count >= 4 and problems == []


def test_postgres_refuses_changes_to_the_trail_and_the_chain_shows_them(
    postgres_url: str,
) -> None:
    trail = AuditTrail(postgres_url)
    position = trail.append("tamper-test", "turn.released", {"answer": "原文"})
    engine = sqlalchemy.create_engine(postgres_url)
    forged = json.dumps({"answer": "稳赚不赔"})
    change = sqlalchemy.text(
        "update audit_records set payload = :forged where stream = 'tamper-test'"
    )
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as db:
        db.execute(change, {"forged": forged})
    with engine.begin() as db:
        db.execute(sqlalchemy.text("alter table audit_records disable trigger audit_append_only"))
        db.execute(change, {"forged": forged})
        db.execute(sqlalchemy.text("alter table audit_records enable trigger audit_append_only"))
    _, problems = trail.verify("tamper-test")
    assert [str(p) for p in problems] == [
        f"position {position}: altered: its content does not match its hash"
    ]
