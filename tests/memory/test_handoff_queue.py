"""The staff queue of hand-offs, on SQLite and PostgreSQL: a hand-off made by a real turn
waits open with its masked question, is taken (and may be taken over), and is closed once
with how it was resolved; a closed one is finished. Migration 0003 brings hand-offs made
before it into the queue, open and unassigned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command

from assistant.errors import Conflict, InvalidRequest, NotFound
from assistant.memory.store import ConversationStore, HandoffClosed
from assistant.migrations import config, upgrade
from assistant.pipeline import Assistant
from assistant.roles import Role
from assistant.service import build_assistant
from assistant.turn import TurnRequest, TurnResult
from tests.conftest import make_settings

CUSTOMER = "customer_app:queue-test:customer"


@pytest.fixture(scope="module")
def unindexed(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real assistant; a hand-off is decided by the input guard and needs no index."""
    return build_assistant(make_settings(tmp_path_factory.mktemp("queue-data")))


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.db'}"
    # A database of its own in the shared server: the queue lists every hand-off in it.
    server = sqlalchemy.create_engine(request.getfixturevalue("postgres_url"))
    name = f"queue_{tmp_path.name[-12:].lower().replace('-', '_')}"
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(sqlalchemy.text(f"create database {name}"))
    server.dispose()
    return server.url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def store(url: str) -> Iterator[ConversationStore]:
    store = ConversationStore(url)
    yield store
    store.engine.dispose()


def hand_off(assistant: Assistant, store: ConversationStore, message: str) -> TurnResult:
    """A customer's turn that the input guard hands to a person, through the pipeline."""
    result = assistant.with_memory(store).answer(
        TurnRequest(message, Role.customer, owner=CUSTOMER)
    )
    assert result.action == "handoff" and result.handoff is not None
    return result


def reference_of(turn: TurnResult) -> str:
    assert turn.handoff is not None
    return turn.handoff.reference


def test_a_handoff_waits_open_in_the_queue_with_its_masked_question(
    unindexed: Assistant, store: ConversationStore
) -> None:
    before = datetime.now(UTC)
    turn = hand_off(unindexed, store, "我要投诉，你们给我手机13812345678打了好多推销电话")
    (waiting,) = store.queue("open")
    assert waiting.reference == reference_of(turn)
    assert (waiting.kind, waiting.state, waiting.assignee) == ("complaint", "open", None)
    assert waiting.session_id == turn.session_id
    assert "13812345678" not in waiting.question and "推销电话" in waiting.question
    assert before.replace(microsecond=0) <= waiting.created_at <= datetime.now(UTC)
    assert waiting.updated_at >= waiting.created_at
    assert (waiting.closed_at, waiting.resolution) == (None, None)
    assert store.queue("assigned") == [] and store.queue("closed") == []


def test_the_queue_is_newest_first_and_filtered_by_state(
    unindexed: Assistant, store: ConversationStore
) -> None:
    first = hand_off(unindexed, store, "转人工")
    second = hand_off(unindexed, store, "I want to complain")
    third = hand_off(unindexed, store, "我要投诉")
    references = [reference_of(turn) for turn in (first, second, third)]
    assert [h.reference for h in store.queue()] == references[::-1]
    store.assign(references[1], "teller:zhang")
    store.close(references[2], "已电话联系客户，费用已退回")
    assert [h.reference for h in store.queue("open")] == [references[0]]
    assert [h.reference for h in store.queue("assigned")] == [references[1]]
    assert [h.reference for h in store.queue("closed")] == [references[2]]
    assert [h.kind for h in store.queue()] == ["complaint", "complaint", "agent"]
    assert len(store.queue(limit=2)) == 2


def test_a_handoff_is_taken_taken_over_and_closed_with_its_resolution(
    unindexed: Assistant, store: ConversationStore
) -> None:
    reference = reference_of(hand_off(unindexed, store, "转人工"))
    taken = store.assign(reference, "teller:zhang")
    assert (taken.state, taken.assignee) == ("assigned", "teller:zhang")
    assert taken.updated_at >= taken.created_at
    taken_over = store.assign(reference, "  teller:li  ")
    assert (taken_over.state, taken_over.assignee) == ("assigned", "teller:li")
    closed = store.close(reference, "已回电，客户问题已解决")
    assert (closed.state, closed.assignee, closed.resolution) == (
        "closed",
        "teller:li",
        "已回电，客户问题已解决",
    )
    assert closed.closed_at is not None and closed.closed_at >= taken_over.updated_at
    # The session's own view of its hand-offs follows the queue.
    assert store.handoffs(closed.session_id) == [
        {"reference": reference, "kind": "agent", "status": "closed"}
    ]


def test_an_open_handoff_may_be_closed_without_being_taken(
    unindexed: Assistant, store: ConversationStore
) -> None:
    reference = reference_of(hand_off(unindexed, store, "我要投诉"))
    closed = store.close(reference, "客户已在网点当场解决")
    assert (closed.state, closed.assignee) == ("closed", None)


def test_a_closed_handoff_cannot_be_closed_again_or_taken(
    unindexed: Assistant, store: ConversationStore
) -> None:
    reference = reference_of(hand_off(unindexed, store, "转人工"))
    store.close(reference, "已处理")
    with pytest.raises(HandoffClosed, match="已关闭，不能再关闭") as twice:
        store.close(reference, "又处理了一次")
    assert isinstance(twice.value, Conflict) and twice.value.status == 409
    with pytest.raises(HandoffClosed, match="已关闭，不能再认领"):
        store.assign(reference, "teller:zhang")
    (kept,) = store.queue("closed")
    assert (kept.resolution, kept.assignee) == ("已处理", None)


def test_what_cannot_be_done_is_said_for_the_person_asking(
    unindexed: Assistant, store: ConversationStore
) -> None:
    reference = reference_of(hand_off(unindexed, store, "转人工"))
    with pytest.raises(NotFound, match="没有编号为 H00000000NOPE00"):
        store.assign("H00000000NOPE00", "teller:zhang")
    with pytest.raises(NotFound):
        store.close("H00000000NOPE00", "已处理")
    with pytest.raises(InvalidRequest, match="请填写处理结果"):
        store.close(reference, "   ")
    with pytest.raises(InvalidRequest, match="请填写处理人"):
        store.assign(reference, "")
    with pytest.raises(InvalidRequest, match="最多 200 个字符"):
        store.assign(reference, "x" * 201)
    with pytest.raises(InvalidRequest, match="open, assigned, closed"):
        store.queue("pending")
    (untouched,) = store.queue()
    assert (untouched.state, untouched.assignee) == ("open", None)


def test_of_two_staff_closing_one_handoff_at_once_exactly_one_succeeds(
    unindexed: Assistant, store: ConversationStore
) -> None:
    reference = reference_of(hand_off(unindexed, store, "我要投诉"))
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def close_as(staff: str) -> None:
        start.wait()
        try:
            store.close(reference, f"{staff} 已处理")
            outcomes.append("closed")
        except HandoffClosed:
            outcomes.append("refused")

    workers = [threading.Thread(target=close_as, args=(f"teller:{n}",)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(outcomes) == ["closed", "refused", "refused", "refused"]


def test_handoffs_made_before_the_queue_join_it_open_and_unassigned(url: str) -> None:
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as connection:  # a database as the versions before the queue left it
        settings = config()
        settings.attributes["connection"] = connection
        command.upgrade(settings, "0002")
        for statement in (
            "insert into conversations values ('s-old', 'app:1:customer', '2026-01-05 09:00:00')",
            "insert into turns values ('t-old', 's-old', '2026-01-05 09:00:00', 'customer', "
            "'zh-CN', '我要投诉', '已登记', '[]', 'handoff', '[]')",
            "insert into handoffs values ('H20260105OLD001', 't-old', 's-old', 'complaint', "
            "'open', '2026-01-05 09:00:00')",
        ):
            connection.execute(sqlalchemy.text(statement))
    upgrade(engine)
    engine.dispose()
    store = ConversationStore(url)
    (old,) = store.queue("open")
    assert (old.reference, old.kind, old.assignee, old.question) == (
        "H20260105OLD001",
        "complaint",
        None,
        "我要投诉",
    )
    assert old.updated_at == old.created_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert store.assign(old.reference, "teller:zhang").state == "assigned"
    store.engine.dispose()
