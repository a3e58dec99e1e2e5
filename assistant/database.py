"""Small pieces every database-backed part shares: a session whose failure becomes the
caller's own clear error, a lock file for what must take turns across processes, and how to
tell a lost table from any other database error."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


def connect(url: str) -> Engine:
    """An engine for `url`. A SQLite file is kept in write-ahead-log mode: readers in other
    workers never wait for the writer, and a commit is one synced append to the log rather
    than a rewritten journal (each commit still reaches the disk before it returns)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _write_ahead_log)
    return engine


def _write_ahead_log(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


@contextmanager
def session_scope(
    engine: Engine, write: bool, failed: Callable[[SQLAlchemyError], Exception]
) -> Iterator[Session]:
    """A session (in one transaction when it writes); a database error is raised as what
    `failed` makes of it, never as a driver's traceback."""
    try:
        with Session(engine) as session:
            if write:
                with session.begin():
                    yield session
            else:
                yield session
    except SQLAlchemyError as error:
        raise failed(error) from None


@contextmanager
def file_lock(path: Path | str) -> Iterator[None]:
    """Held by one process at a time on this machine."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lost_table(error: SQLAlchemyError) -> bool:
    """Whether a database error says a table is gone (a file deleted, a fresh server)."""
    return "no such table" in str(error) or "does not exist" in str(error)
