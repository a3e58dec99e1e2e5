"""The audit trail: an append-only, hash-chained record of every turn, for the compliance team
to show years later what the assistant told whom, from which documents, and what the
guardrail decided.

Each record carries the hash of the one before it in its stream, so a record altered,
deleted, inserted or moved breaks the chain where it happened, and `verify` names the
position. The database itself refuses UPDATE and DELETE on the table (a trigger the
migrations create, in SQLite and PostgreSQL alike), so tampering needs someone who drops the
trigger first, and the chain still shows it. SQLAlchemy, so the same code runs on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from assistant.database import connect, lost_table
from assistant.errors import Unavailable
from assistant.migrations import upgrade

# The hash the first record of a stream chains to.
GENESIS = "0" * 64
# Tries before a record that other workers keep racing for is reported as not written.
_ATTEMPTS = 20


class _Base(DeclarativeBase):
    pass


class AuditRow(_Base):
    __tablename__ = "audit_records"
    __table_args__ = (UniqueConstraint("stream", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(40), index=True)
    position: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PurgeRow(_Base):
    """Where a stream's records were purged for retention, and what its first kept record
    chains to. Append-only: the database refuses changes to it."""

    __tablename__ = "audit_purges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(40), index=True)
    below_position: Mapped[int] = mapped_column(Integer)
    anchor_hash: Mapped[str] = mapped_column(String(64))
    purged_at: Mapped[str] = mapped_column(String(40))


PURGED = "retention.purged"


def canonical(value: Any) -> str:
    """One spelling of a record's content, so that its hash is the same on every machine."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def chain_hash(
    previous: str, stream: str, recorded_at: str, kind: str, payload: str, key: bytes = b""
) -> str:
    """The record's hash over its content and its predecessor's hash. With a key kept out of
    the database (ASSISTANT_AUDIT_KEY), someone who can write the database still cannot
    forge a chain that verifies."""
    text = "\n".join((previous, stream, recorded_at, kind, payload)).encode("utf-8")
    if key:
        return hmac.new(key, text, hashlib.sha256).hexdigest()
    return hashlib.sha256(text).hexdigest()


@dataclass(frozen=True)
class Problem:
    """Where the chain breaks, and how."""

    position: int
    what: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.what}"


class AuditTrail:
    def __init__(self, url: str, key: str | None = None) -> None:
        self.engine: Engine = connect(url)
        self._key = (key or "").encode("utf-8")
        self._appending = threading.Lock()
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except (IntegrityError, OperationalError) as error:
            if not lost_table(error):
                raise  # a race between workers: the caller tries again
            self._recreate_quietly()
            raise _unavailable(error) from None
        except SQLAlchemyError as error:
            # A store that lost its table (a file deleted, a database restored) gets it
            # back on the next call: the trail recovers without a restart.
            if lost_table(error):
                self._recreate_quietly()
            raise _unavailable(error) from None

    def _recreate_quietly(self) -> None:
        with suppress(Unavailable):  # still unreachable: the next call tries again
            upgrade(self.engine, repair=True)

    def ping(self) -> None:
        with self._session() as session:
            session.execute(select(AuditRow.id).limit(1))

    def append(self, stream: str, kind: str, payload: dict[str, Any]) -> int:
        """Add a record at the end of `stream`; its position. Fails (Unavailable) rather
        than leave a gap: a turn whose record cannot be written is not released."""
        content = canonical(payload)
        for attempt in range(_ATTEMPTS):
            try:
                with self._appending:
                    return self._append(stream, kind, content)
            except (IntegrityError, OperationalError):
                # Another worker took the same position first, or holds the database's
                # write lock: read the end of the chain again and take the next one.
                time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
        raise Unavailable(
            "the audit trail is too busy to record the turn; the answer was not released: "
            "try again shortly"
        )

    def _append(self, stream: str, kind: str, content: str) -> int:
        with self._session() as session, session.begin():
            last = session.scalars(
                select(AuditRow)
                .where(AuditRow.stream == stream)
                .order_by(AuditRow.position.desc())
                .limit(1)
                .with_for_update()
            ).first()
            position = last.position + 1 if last else 1
            previous = last.hash if last else GENESIS
            recorded_at = datetime.now(UTC).isoformat()
            session.add(
                AuditRow(
                    stream=stream,
                    position=position,
                    recorded_at=recorded_at,
                    kind=kind,
                    payload=content,
                    previous_hash=previous,
                    hash=chain_hash(previous, stream, recorded_at, kind, content, self._key),
                )
            )
        return position

    def rows(self, stream: str) -> list[AuditRow]:
        with self._session() as session:
            found = session.scalars(
                select(AuditRow).where(AuditRow.stream == stream).order_by(AuditRow.position)
            ).all()
            session.expunge_all()
            return list(found)

    def verify(self, stream: str = "turns") -> tuple[int, list[Problem]]:
        """How many records the stream holds, and every place its chain breaks."""
        found = self.rows(stream)
        mark = self._latest_purge(stream)
        if mark is None:
            return len(found), chain_problems(found, self._key)
        problems = chain_problems(found, self._key, start=(mark.below_position, mark.anchor_hash))
        announced = {"below_position": mark.below_position, "anchor_hash": mark.anchor_hash}
        if not any(r.kind == PURGED and _announces(r, announced) for r in found):
            problems.insert(
                0,
                Problem(
                    mark.below_position,
                    "records before it were removed under a purge mark the chain never recorded",
                ),
            )
        return len(found), problems

    def purge(self, before: datetime, stream: str = "turns") -> int:
        """Remove the records written before `before` (the retention period), the newest
        record always kept. The purge is first written into the chain, then marked, then
        carried out, so `verify` can tell it from a deletion. How many were removed."""
        # Asked of the database, not read whole: years of records stay where they are.
        cutoff = before.astimezone(UTC).isoformat()  # records carry UTC ISO times
        in_stream = AuditRow.stream == stream
        with self._session() as session:
            first, newest = session.execute(
                select(func.min(AuditRow.position), func.max(AuditRow.position)).where(in_stream)
            ).one()
            last = session.scalars(
                select(AuditRow)
                .where(in_stream, AuditRow.recorded_at < cutoff, AuditRow.position < newest)
                .order_by(AuditRow.position.desc())
                .limit(1)
            ).first()
            if last is None:
                return 0
            session.expunge(last)
        below = last.position + 1
        self.append(
            stream,
            PURGED,
            {"below_position": below, "anchor_hash": last.hash, "before": before.isoformat()},
        )
        try:
            self._purge_below(stream, below, last.hash)
        except (IntegrityError, OperationalError) as error:  # busy: the next run purges
            raise _unavailable(error) from None
        return int(below - first)

    def _purge_below(self, stream: str, below: int, anchor: str) -> None:
        with self._session() as session, session.begin():
            session.add(
                PurgeRow(
                    stream=stream,
                    below_position=below,
                    anchor_hash=anchor,
                    purged_at=datetime.now(UTC).isoformat(),
                )
            )
            session.flush()
            session.execute(
                delete(AuditRow).where(AuditRow.stream == stream).where(AuditRow.position < below)
            )

    def _latest_purge(self, stream: str) -> PurgeRow | None:
        with self._session() as session:
            mark = session.scalars(
                select(PurgeRow)
                .where(PurgeRow.stream == stream)
                .order_by(PurgeRow.below_position.desc())
                .limit(1)
            ).first()
            session.expunge_all()
            return mark

    def export(self, start: str, end: str, stream: str = "turns") -> Iterator[dict[str, Any]]:
        """Records from `start` to `end` (ISO dates, inclusive), for compliance, each with
        what it needs to be checked again elsewhere."""
        for row in self.rows(stream):
            if start <= row.recorded_at[:10] <= end:
                yield {
                    "stream": row.stream,
                    "position": row.position,
                    "recorded_at": row.recorded_at,
                    "kind": row.kind,
                    "payload": json.loads(row.payload),
                    "previous_hash": row.previous_hash,
                    "hash": row.hash,
                }


def chain_problems(
    rows: list[AuditRow], key: bytes = b"", start: tuple[int, str] = (1, GENESIS)
) -> list[Problem]:
    """Each place a chain of records (in position order) was altered, lost a record, gained
    one, or had its records moved. `start` is where the chain begins: its first position and
    the hash that record chains to (after a retention purge, the purge mark's)."""
    problems: list[Problem] = []
    position_of = {row.hash: row.position for row in rows}
    expected, previous_hash = start
    for row in rows:
        if row.position > expected:
            problems.append(Problem(expected, f"{row.position - expected} record(s) deleted"))
        recomputed = chain_hash(
            row.previous_hash, row.stream, row.recorded_at, row.kind, row.payload, key
        )
        if recomputed != row.hash:
            problems.append(Problem(row.position, "altered: its content does not match its hash"))
        elif row.previous_hash != previous_hash and row.position <= expected:
            problems.append(Problem(row.position, _misplaced(row, position_of)))
        previous_hash, expected = row.hash, row.position + 1
    return problems


def _misplaced(row: AuditRow, position_of: dict[str, int]) -> str:
    if row.previous_hash in position_of:
        return f"reordered: it was written after the record now at {position_of[row.previous_hash]}"
    if row.previous_hash == GENESIS:
        return "reordered: it was written first"
    return "inserted: it chains to no record of this stream"


def _announces(row: AuditRow, mark: dict[str, Any]) -> bool:
    payload = json.loads(row.payload)
    return all(payload.get(k) == v for k, v in mark.items())


def _unavailable(error: SQLAlchemyError) -> Unavailable:
    return Unavailable(
        f"the audit trail cannot be written ({type(error).__name__}); the answer was not "
        "released: try again shortly"
    )
