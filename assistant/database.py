"""Small pieces every database-backed part shares: a session whose failure becomes the
caller's own clear error, a lock file for what must take turns across processes, and how to
tell a lost table from any other database error."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


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
