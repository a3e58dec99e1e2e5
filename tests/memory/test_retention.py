"""Retention: conversations and audit records older than their periods are removed; the
trail's purge is recorded in its chain and behind a mark, so it verifies, while any other
removal is still refused by the database or reported by `verify`."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy

from assistant.memory.audit import PURGED, AuditTrail
from assistant.memory.store import ConversationStore
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.settings import Settings
from assistant.turn import TurnRequest
from tests.channels.test_api import server_env
from tests.conftest import ROOT


def later() -> datetime:
    """A moment after everything written so far, read when the test runs (not when the
    module is collected, which a long run leaves minutes behind)."""
    return datetime.now(UTC) + timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'assistant.db'}"
    return str(request.getfixturevalue("postgres_url"))


def stream_of(request: pytest.FixtureRequest) -> str:
    # The PostgreSQL server is shared by the whole run: each test writes a stream of its own.
    return f"retention-{request.node.name[-24:]}"


def test_a_purge_removes_old_records_and_the_chain_still_verifies(
    url: str, request: pytest.FixtureRequest
) -> None:
    trail, stream = AuditTrail(url), stream_of(request)
    for i in range(1, 6):
        trail.append(stream, "turn.released", {"turn_id": f"t{i}"})
    assert trail.purge(later(), stream) == 4  # the newest record is always kept
    trail.append(stream, "turn.released", {"turn_id": "t6"})
    rows = trail.rows(stream)
    assert [(r.position, r.kind) for r in rows] == [
        (5, "turn.released"),
        (6, PURGED),
        (7, "turn.released"),
    ]
    assert json.loads(rows[1].payload)["below_position"] == 5
    assert trail.verify(stream) == (3, [])
    assert trail.purge(datetime.now(UTC) - timedelta(days=1), stream) == 0


def test_after_a_purge_the_database_still_refuses_to_delete_kept_records(
    url: str, request: pytest.FixtureRequest
) -> None:
    trail, stream = AuditTrail(url), stream_of(request)
    for i in range(3):
        trail.append(stream, "turn.released", {"turn_id": f"t{i}"})
    trail.purge(later(), stream)
    engine = sqlalchemy.create_engine(url)
    delete = sqlalchemy.text("delete from audit_records where stream = :stream")
    refused = pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only")
    with refused, engine.begin() as db:
        db.execute(delete, {"stream": stream})
    forge_mark = sqlalchemy.text("update audit_purges set below_position = 99 where stream = :s")
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as db:
        db.execute(forge_mark, {"s": stream})
    assert trail.verify(stream) == (2, [])


def test_records_removed_behind_a_mark_the_chain_never_recorded_are_reported(
    url: str, request: pytest.FixtureRequest
) -> None:
    trail, stream = AuditTrail(url), stream_of(request)
    for i in range(4):
        trail.append(stream, "turn.released", {"turn_id": f"t{i}"})
    anchor = trail.rows(stream)[1].hash
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as db:  # someone who may write the database, but not the chain
        db.execute(
            sqlalchemy.text(
                "insert into audit_purges (stream, below_position, anchor_hash, purged_at) "
                "values (:s, 3, :anchor, '2026-01-01')"
            ),
            {"s": stream, "anchor": anchor},
        )
        db.execute(
            sqlalchemy.text("delete from audit_records where stream = :s and position < 3"),
            {"s": stream},
        )
    count, problems = trail.verify(stream)
    assert count == 2
    assert [str(p) for p in problems] == [
        "position 3: records before it were removed under a purge mark the chain never recorded"
    ]


def test_old_conversations_are_forgotten_with_their_feedback_and_handoffs(
    assistant: Assistant, tmp_path: Path
) -> None:
    store = ConversationStore(f"sqlite:///{tmp_path / 'sessions.db'}")
    served = assistant.with_memory(store, AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}"))
    owner = "app:retention:customer"
    turn = served.answer(TurnRequest("大额存单起存金额是多少？", Role.customer, owner=owner))
    store.add_feedback(turn.turn_id, frozenset({owner}), "down", "没说清楚")
    assert store.purge(datetime.now(UTC) - timedelta(days=1)) == 0
    assert store.turns(turn.session_id, frozenset({owner}))
    assert store.purge(later()) == 1
    assert store.feedback_for(turn.turn_id) == []
    with pytest.raises(Exception, match="no session"):
        store.turns(turn.session_id, frozenset({owner}))


def test_the_command_applies_both_periods(settings: Settings, tmp_path: Path) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'assistant.db'}")
    for i in range(3):
        trail.append("turns", "turn.released", {"turn_id": f"t{i}"})
    env = server_env(settings) | {"ASSISTANT_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "assistant", "retention", "apply"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # A minute-old trail is well inside five years: nothing goes.
    assert json.loads(done.stdout) == {"turns_removed": 0, "audit_records_purged": 0}
    too_short = subprocess.run(
        command,
        cwd=ROOT,
        env=env | {"ASSISTANT_AUDIT_RETENTION_DAYS": "30"},
        capture_output=True,
        text=True,
    )
    assert too_short.returncode != 0 and "audit_retention_days" in too_short.stderr
