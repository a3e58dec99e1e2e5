"""What the assistant remembers: sessions and their turns, feedback on a turn, and hand-offs
to a person, with the staff queue that works them (open -> assigned -> closed). SQLAlchemy,
so SQLite by default and PostgreSQL by URL. Only masked text is stored: the input guard has
replaced personal data before a turn reaches this module."""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import ForeignKey, Select, String, Text, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.database import connect, lost_table, session_scope
from assistant.errors import AssistantError, Conflict, InvalidRequest, NotFound, Unavailable
from assistant.migrations import upgrade
from assistant.turn import TurnRequest, TurnResult


class Base(DeclarativeBase):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _id() -> str:
    return uuid.uuid4().hex


class ConversationRow(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Who opened it (channel and subject); only they, or an administrator, may read it back.
    owner: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)


class TurnRow(Base):
    __tablename__ = "turns"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(10))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(20))
    rules: Mapped[str] = mapped_column(Text)


class FeedbackRow(Base):
    __tablename__ = "feedback"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=_id)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id"), index=True)
    rating: Mapped[str] = mapped_column(String(4))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=_now)


# Where a hand-off stands in the staff queue. It waits `open` until someone takes it,
# `assigned` while a member of staff works on it (another may take it over), and `closed`
# with a note of how it was resolved; a closed one stays closed.
HandoffState = Literal["open", "assigned", "closed"]
HANDOFF_STATES: tuple[HandoffState, ...] = get_args(HandoffState)
# The states a hand-off may be in to move to each state: re-assigning is allowed, and one
# nobody took may be closed at once (the customer's matter settled elsewhere).
MAY_MOVE_FROM: dict[HandoffState, frozenset[str]] = {
    "assigned": frozenset({"open", "assigned"}),
    "closed": frozenset({"open", "assigned"}),
}
# Who works on a hand-off, as the caller's owner string names staff ("teller:…").
ASSIGNEE_CHARS = 200


class HandoffRow(Base):
    __tablename__ = "handoffs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    assignee: Mapped[str | None] = mapped_column(String(ASSIGNEE_CHARS))
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)


class HandoffClosed(Conflict):
    """A closed hand-off is finished: it cannot be closed again or taken by anyone."""

    code = "handoff_closed"


def _utc(moment: datetime) -> datetime:
    """A stored time as UTC: the database keeps UTC wall time without its zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class QueuedHandoff:
    """A hand-off as staff see it in the queue: what the customer asked (masked), and where
    the hand-off stands."""

    reference: str
    kind: str
    state: str
    created_at: datetime
    updated_at: datetime
    assignee: str | None
    closed_at: datetime | None
    resolution: str | None
    session_id: str
    question: str

    @classmethod
    def of(cls, row: HandoffRow, question: str) -> QueuedHandoff:
        return cls(
            reference=row.id,
            kind=row.kind,
            state=row.status,
            created_at=_utc(row.created_at),
            updated_at=_utc(row.updated_at),
            assignee=row.assignee,
            closed_at=_utc(row.closed_at) if row.closed_at else None,
            resolution=row.resolution,
            session_id=row.session_id,
            question=question,
        )


def _queued() -> Select[HandoffRow, str]:
    """Hand-offs, each with the (masked) question that was handed over."""
    return select(HandoffRow, TurnRow.question).join(TurnRow, TurnRow.id == HandoffRow.turn_id)


def _required(value: str, chinese: str, english: str, most: int | None = None) -> str:
    """A name or note staff must give: not blank, and no longer than its column holds."""
    text = value.strip()
    if not text:
        raise InvalidRequest(f"请填写{chinese} / the {english} must not be empty")
    if most is not None and len(text) > most:
        raise InvalidRequest(f"{chinese}最多 {most} 个字符 / the {english} has at most {most}")
    return text


def _refusal(reference: str, state: str | None, wanted: HandoffState) -> AssistantError:
    """Why a hand-off could not move to `wanted`: there is none, or it is closed."""
    if state is None:
        return NotFound(f"没有编号为 {reference} 的转人工记录 / no hand-off {reference}")
    action = ("关闭", "closed again") if wanted == "closed" else ("认领", "assigned")
    return HandoffClosed(
        f"转人工记录 {reference} 已关闭，不能再{action[0]} / "
        f"hand-off {reference} is closed and cannot be {action[1]}"
    )


@dataclass(frozen=True)
class StoredTurn:
    id: str
    session_id: str
    created_at: datetime
    role: str
    language: str
    question: str
    answer: str
    citations: list[dict[str, Any]]
    action: str
    rules: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "turn_id": self.id,
            "created_at": self.created_at.isoformat(),
            "role": self.role,
            "language": self.language,
            "question": self.question,
            "answer": self.answer,
            "citations": self.citations,
            "action": self.action,
            "rules": self.rules,
        }


class ConversationStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = connect(url)
        upgrade(self.engine)

    def _session(self, write: bool = False) -> AbstractContextManager[Session]:
        """A database session; a database that cannot be reached is `Unavailable` (503)
        saying so, never a driver's traceback."""
        return session_scope(self.engine, write, self._unavailable)

    def _unavailable(self, error: SQLAlchemyError) -> Unavailable:
        # A database that lost its tables (a file deleted, a fresh server) gets them back
        # for the next call: the service recovers without a restart. Any other error
        # (a race between workers, a value too long) leaves the schema alone.
        if lost_table(error):
            with suppress(Unavailable):
                upgrade(self.engine, repair=True)
        return Unavailable(
            f"the conversation store cannot be reached ({type(error).__name__}); "
            "nothing was stored: try again shortly"
        )

    def ping(self) -> None:
        with self._session() as session:
            session.execute(select(1))

    def owner_of(self, session_id: str) -> str | None:
        with self._session() as session:
            row = session.get(ConversationRow, session_id)
            return row.owner if row else None

    def history(self, session_id: str, owner: str, turns: int) -> list[str]:
        """The session's latest `turns` questions, oldest first; empty for a new session."""
        if self.owner_of(session_id) != owner:
            return []
        with self._session() as session:
            rows = session.scalars(
                select(TurnRow.question)
                .where(TurnRow.session_id == session_id)
                .order_by(TurnRow.created_at.desc())
                .limit(turns)
            ).all()
        return list(reversed(rows))

    def record(self, turn: TurnResult, request: TurnRequest) -> None:
        """The turn, its session if new, and its hand-off, in one transaction."""
        with self._session(write=True) as session:
            conversation = session.get(ConversationRow, turn.session_id)
            if conversation is None:
                session.add(ConversationRow(id=turn.session_id, owner=request.owner))
            elif conversation.owner != request.owner:  # two callers raced for one id
                raise NotFound(f"no session {turn.session_id} for this caller")
            session.add(
                TurnRow(
                    id=turn.turn_id,
                    session_id=turn.session_id,
                    role=str(request.role),
                    language=turn.language,
                    question=turn.question,
                    answer=turn.answer,
                    citations=json.dumps([c.as_dict() for c in turn.citations], ensure_ascii=False),
                    action=turn.action,
                    rules=json.dumps([f.rule for f in turn.verdicts]),
                )
            )
            if turn.handoff is not None:
                session.flush()  # the turn row first: the hand-off refers to it
                session.add(
                    HandoffRow(
                        id=turn.handoff.reference,
                        turn_id=turn.turn_id,
                        session_id=turn.session_id,
                        kind=turn.handoff.kind,
                    )
                )

    def turns(self, session_id: str, owners: frozenset[str] | None) -> list[StoredTurn]:
        """The whole session, for one of its possible `owners`; `None` is an administrator
        reading any session."""
        found = self.owner_of(session_id)
        if found is None or (owners is not None and found not in owners):
            raise NotFound(f"no session {session_id} for this caller")
        with self._session() as session:
            rows = session.scalars(
                select(TurnRow).where(TurnRow.session_id == session_id).order_by(TurnRow.created_at)
            ).all()
            return [
                StoredTurn(
                    r.id,
                    r.session_id,
                    r.created_at,
                    r.role,
                    r.language,
                    r.question,
                    r.answer,
                    json.loads(r.citations),
                    r.action,
                    json.loads(r.rules),
                )
                for r in rows
            ]

    def add_feedback(
        self, turn_id: str, owners: frozenset[str] | None, rating: str, comment: str
    ) -> str:
        with self._session(write=True) as session:
            turn = session.get(TurnRow, turn_id)
            conversation = session.get(ConversationRow, turn.session_id) if turn else None
            if conversation is None or (owners is not None and conversation.owner not in owners):
                raise NotFound(f"no turn {turn_id} for this caller")
            row = FeedbackRow(turn_id=turn_id, rating=rating, comment=comment)
            session.add(row)
            session.flush()
            return row.id

    def feedback_for(self, turn_id: str) -> list[tuple[str, str]]:
        with self._session() as session:
            rows = session.scalars(select(FeedbackRow).where(FeedbackRow.turn_id == turn_id))
            return [(r.rating, r.comment) for r in rows]

    def purge(self, before: datetime) -> int:
        """Forget the turns recorded before `before` (the retention period), with their
        feedback and hand-offs, and the sessions left empty. How many turns were removed.
        The audit trail keeps its own record of them for its own period."""
        cutoff = before.astimezone(UTC).replace(tzinfo=None)  # stored as UTC wall time
        with self._session(write=True) as session:
            old = select(TurnRow.id).where(TurnRow.created_at < cutoff)
            for dependent in (FeedbackRow, HandoffRow):
                session.execute(delete(dependent).where(dependent.turn_id.in_(old)))
            removed = session.execute(delete(TurnRow).where(TurnRow.created_at < cutoff))
            session.execute(
                delete(ConversationRow)
                .where(ConversationRow.created_at < cutoff)
                .where(~ConversationRow.id.in_(select(TurnRow.session_id)))
            )
            return int(getattr(removed, "rowcount", 0) or 0)

    def handoffs(self, session_id: str) -> list[dict[str, str]]:
        with self._session() as session:
            rows = session.scalars(select(HandoffRow).where(HandoffRow.session_id == session_id))
            return [{"reference": r.id, "kind": r.kind, "status": r.status} for r in rows]

    # ------------------------------------------------------------------ the staff queue

    def queue(self, state: str | None = None, limit: int = 200) -> list[QueuedHandoff]:
        """Hand-offs in `state` (every state for None), newest first, each with the question
        that was handed over."""
        if state is not None and state not in HANDOFF_STATES:
            raise InvalidRequest(
                f"没有“{state}”这种状态 / no state {state!r}: use {', '.join(HANDOFF_STATES)}"
            )
        query = _queued().order_by(HandoffRow.created_at.desc(), HandoffRow.id).limit(limit)
        if state is not None:
            query = query.where(HandoffRow.status == state)
        with self._session() as session:
            return [QueuedHandoff.of(row, question) for row, question in session.execute(query)]

    def assign(self, reference: str, assignee: str) -> QueuedHandoff:
        """`assignee` works on the hand-off from now on, in place of anyone before."""
        who = _required(assignee, "处理人", "assignee", ASSIGNEE_CHARS)
        return self._move(reference, "assigned", {"assignee": who})

    def close(self, reference: str, resolution: str) -> QueuedHandoff:
        """The hand-off is resolved, as `resolution` says; it cannot be closed again."""
        note = _required(resolution, "处理结果", "resolution")
        return self._move(reference, "closed", {"resolution": note, "closed_at": _now()})

    def _move(self, reference: str, wanted: HandoffState, values: dict[str, Any]) -> QueuedHandoff:
        # One conditional UPDATE, not a read and then a write: of two members of staff
        # closing the same hand-off at once, exactly one succeeds, on SQLite and PostgreSQL.
        moved = (
            update(HandoffRow)
            .where(HandoffRow.id == reference, HandoffRow.status.in_(MAY_MOVE_FROM[wanted]))
            .values(status=wanted, updated_at=_now(), **values)
        )
        with self._session(write=True) as session:
            if not getattr(session.execute(moved), "rowcount", 0):
                state = session.scalar(select(HandoffRow.status).where(HandoffRow.id == reference))
                raise _refusal(reference, state, wanted)
            row, question = session.execute(_queued().where(HandoffRow.id == reference)).one()
            return QueuedHandoff.of(row, question)
