"""What the assistant remembers: sessions and their turns, feedback on a turn, and hand-offs
to a person. SQLAlchemy, so SQLite by default and PostgreSQL by URL. Only masked text is
stored: the input guard has replaced personal data before a turn reaches this module."""

from __future__ import annotations

import json
import uuid
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.database import connect, lost_table, session_scope
from assistant.errors import NotFound, Unavailable
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


class HandoffRow(Base):
    __tablename__ = "handoffs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    turn_id: Mapped[str] = mapped_column(ForeignKey("turns.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(default=_now)


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
