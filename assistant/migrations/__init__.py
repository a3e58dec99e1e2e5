"""The database schema, as Alembic migrations: sessions, feedback and hand-offs, the audit
trail, the shared rate limits and the index catalogue.

Every component brings its database to the newest revision when it opens it (`upgrade`), and
again when it finds a table missing: the migrations create only what is not there yet, so
running them on a database made by an older version, or one that lost a table mid-service,
repairs it without touching what is stored. Two workers starting at once take turns (an
advisory lock on PostgreSQL, a lock file beside an SQLite database).
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from assistant.database import file_lock
from assistant.errors import Unavailable

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).resolve().parent
_LOCK_KEY = zlib.crc32(b"assistant:migrations")
_migrating = threading.Lock()
# The databases this process has brought to head already: the store, the trail, the limits
# and the catalogue often share one, and need not each run the migrations again.
_at_head: set[str] = set()


def config() -> Config:
    settings = Config()
    settings.set_main_option("script_location", str(SCRIPTS))
    return settings


def upgrade(engine: Engine, repair: bool = False) -> None:
    """Bring the database to the newest revision. With `repair`, the migrations run again
    from the start even if the database says it is current (a table was lost)."""
    database = engine.url.render_as_string(hide_password=False)
    try:
        with _migrating:
            if repair or database not in _at_head:
                _migrate(engine, repair)
                if engine.url.database not in (None, "", ":memory:"):  # each one is new
                    _at_head.add(database)
    except SQLAlchemyError as error:
        where = engine.url.render_as_string(hide_password=True)
        raise Unavailable(
            f"the database at {where} cannot be prepared ({type(error).__name__}): check "
            "that it is running and reachable, then try again"
        ) from None


def _migrate(engine: Engine, repair: bool) -> None:
    with _across_processes(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        settings = config()
        settings.attributes["connection"] = connection
        if repair:
            command.stamp(settings, "base", purge=True)
        command.upgrade(settings, "head")


@contextmanager
def _across_processes(engine: Engine) -> Iterator[None]:
    """SQLite runs DDL outside a transaction: workers starting together on a new file take
    turns through a lock file beside it. PostgreSQL takes its advisory lock instead."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with file_lock(f"{database}.migrations.lock"):
        yield
