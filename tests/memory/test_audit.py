"""The audit trail: every turn recorded append-only and hash-chained; the database refuses
changes; a record altered, deleted, inserted or moved is reported at its position; a turn
whose record cannot be written is not released."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.channels.api import create_app
from assistant.memory.audit import AuditTrail, chain_hash
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.settings import Settings
from assistant.turn import TurnRequest
from tests.channels.test_api import server_env
from tests.conftest import ROOT


@pytest.fixture
def trail(tmp_path: Path) -> AuditTrail:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    for i in range(1, 6):
        trail.append("turns", "turn.released", {"turn_id": f"t{i}", "answer": f"答复{i}"})
    return trail


def test_a_sqlite_trail_commits_through_a_write_ahead_log(trail: AuditTrail) -> None:
    # Workers reading the trail never wait for the one appending, and every record is on
    # disk when its append returns.
    with sqlite3.connect(str(trail.engine.url.database)) as db:
        assert db.execute("pragma journal_mode").fetchone() == ("wal",)
    with trail.engine.connect() as connection:
        assert connection.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL


def tampered(trail: AuditTrail, *statements: str) -> list[str]:
    """What verify reports after someone who dropped the database's guard ran `statements`."""
    with sqlite3.connect(str(trail.engine.url.database)) as db:
        db.execute("drop trigger audit_no_update")
        db.execute("drop trigger audit_no_delete")
        for statement in statements:
            db.execute(statement)
    _, problems = trail.verify()
    return [str(p) for p in problems]


def test_a_sound_chain_verifies(trail: AuditTrail) -> None:
    assert trail.verify() == (5, [])


def test_the_database_refuses_to_change_or_delete_a_record(trail: AuditTrail) -> None:
    with sqlite3.connect(str(trail.engine.url.database)) as db:
        for statement in (
            "update audit_records set payload = '{}' where position = 2",
            "delete from audit_records where position = 2",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)


def test_an_altered_answer_is_reported_at_its_position(trail: AuditTrail) -> None:
    forged = json.dumps({"turn_id": "t3", "answer": "这款理财保本保息、稳赚不赔"})
    problems = tampered(trail, f"update audit_records set payload = '{forged}' where position = 3")
    assert problems == ["position 3: altered: its content does not match its hash"]


def test_a_deleted_record_is_reported_where_it_was(trail: AuditTrail) -> None:
    problems = tampered(trail, "delete from audit_records where position = 2")
    assert problems == ["position 2: 1 record(s) deleted"]


def test_an_inserted_record_is_reported(trail: AuditTrail) -> None:
    # A forger who knows the hashing (but no key) chains a record of their own to record 2
    # and moves the later records up to make room for it.
    second = trail.rows("turns")[1]
    payload = '{"answer":"forged"}'
    forged = chain_hash(second.hash, "turns", second.recorded_at, "turn.released", payload)
    problems = tampered(
        trail,
        "update audit_records set position = position + 10 where position >= 3",
        "update audit_records set position = position - 9 where position >= 13",
        "insert into audit_records (stream, position, recorded_at, kind, payload, "
        f"previous_hash, hash) values ('turns', 3, '{second.recorded_at}', 'turn.released', "
        f"'{payload}', '{second.hash}', '{forged}')",
    )
    assert problems == ["position 4: reordered: it was written after the record now at 2"]


def test_reordered_records_are_reported(trail: AuditTrail) -> None:
    problems = tampered(
        trail,
        "update audit_records set position = 99 where position = 2",
        "update audit_records set position = 2 where position = 3",
        "update audit_records set position = 3 where position = 99",
    )
    assert problems[:2] == [
        "position 2: reordered: it was written after the record now at 3",
        "position 3: reordered: it was written after the record now at 1",
    ]


def test_a_keyed_chain_does_not_verify_without_its_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    keyed = AuditTrail(url, key="kept-in-the-vault")
    for i in range(3):
        keyed.append("turns", "turn.released", {"turn_id": f"t{i}"})
    assert AuditTrail(url, key="kept-in-the-vault").verify() == (3, [])
    assert len(AuditTrail(url).verify()[1]) == 3  # recomputed without the key


def test_every_turn_is_recorded_as_released_with_what_it_rests_on(
    assistant: Assistant, tmp_path: Path
) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'audit.db'}")
    recorded = assistant.with_memory(assistant.memory, trail)
    asked = TurnRequest("大额存单起存金额是多少？", Role.customer, owner="app:42:customer")
    result = recorded.answer(asked)
    started, released = (json.loads(row.payload) for row in trail.rows("turns"))
    assert started["turn_id"] == released["turn_id"] == result.turn_id
    assert released["answer"] == result.answer and released["principal"] == "app:42:customer"
    assert released["index_generation"] == assistant.index.current_generation()
    cited = released["citations"][0]
    assert cited["doc_id"] == "dep-large-cd-2026-01" and len(cited["document_hash"]) == 64
    assert {"generator", "prompt_hash", "policy_hash"} <= set(released)
    assert trail.verify() == (2, [])


def test_a_turn_whose_record_cannot_be_written_is_not_released(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    app = create_app(settings.model_copy(update={"data_dir": tmp_path}), assistant)
    question = {"message": "大额存单起存金额是多少？"}
    with TestClient(app) as client:
        assert client.post("/v1/chat", json=question).status_code == 200
        for stream in (False, True):
            with sqlite3.connect(tmp_path / "assistant.db") as db:
                db.execute("drop table audit_records")  # the store is lost mid-service
            refused = client.post("/v1/chat", json=question | {"stream": stream})
            assert refused.status_code == 503, refused.text[:200]
            assert "audit trail" in refused.json()["error"]["message"]
            # It gets its table back: the next turn is served and recorded again.
            assert client.post("/v1/chat", json=question).status_code == 200
        with sqlite3.connect(tmp_path / "assistant.db") as db:
            db.execute("drop table feedback")
            db.execute("drop table handoffs")
            db.execute("drop table turns")  # the sessions' store is lost too
        lost = client.post("/v1/chat", json=question)
        assert lost.status_code == 503 and "conversation store" in lost.json()["error"]["message"]
        assert client.post("/v1/chat", json=question).status_code == 200


def test_the_command_verifies_and_exports(settings: Settings, tmp_path: Path) -> None:
    trail = AuditTrail(f"sqlite:///{tmp_path / 'assistant.db'}")
    for i in range(3):
        trail.append("turns", "turn.released", {"turn_id": f"t{i}"})
    env = server_env(settings) | {"ASSISTANT_DATA_DIR": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "assistant", "audit", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)

    verified = run("verify")
    assert verified.returncode == 0 and "3 records verify" in verified.stdout
    exported = run("export", "--from", "2000-01-01", "--to", "2999-12-31")
    assert [json.loads(line)["position"] for line in exported.stdout.splitlines()] == [1, 2, 3]
    with sqlite3.connect(tmp_path / "assistant.db") as db:
        db.execute("drop trigger audit_no_delete")
        db.execute("delete from audit_records where position = 2")
    broken = run("verify")
    assert broken.returncode == 1 and "position 2: 1 record(s) deleted" in broken.stderr
