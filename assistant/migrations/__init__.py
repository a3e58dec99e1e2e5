"""The database schema, as Alembic migrations: sessions, feedback and hand-offs, the audit
trail, the shared rate limits and the index catalogue.

Every component brings its database to the newest revision when it opens it (`upgrade`), and
again when it finds a table missing: the migrations create only what is not there yet, so
running them on a database made by an older version, or one that lost a table mid-service,
repairs it without touching what is stored. Two workers starting at once take turns (an
advisory lock on PostgreSQL; SQLite serialises writers itself).
"""

from __future__ import annotations

import logging
import threading
import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from assistant.errors import Unavailable

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).resolve().parent
_LOCK_KEY = zlib.crc32(b"assistant:migrations")
_migrating = threading.Lock()


def config() -> Config:
    settings = Config()
    settings.set_main_option("script_location", str(SCRIPTS))
    return settings


def upgrade(engine: Engine, repair: bool = False) -> None:
    """Bring the database to the newest revision. With `repair`, the migrations run again
    from the start even if the database says it is current (a table was lost)."""
    try:
        with _migrating, engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("select pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            settings = config()
            settings.attributes["connection"] = connection
            if repair:
                command.stamp(settings, "base", purge=True)
            command.upgrade(settings, "head")
    except SQLAlchemyError as error:
        where = engine.url.render_as_string(hide_password=True)
        raise Unavailable(
            f"the database at {where} cannot be prepared ({type(error).__name__}): check "
            "that it is running and reachable, then try again"
        ) from None


def has_tables(engine: Engine, *names: str) -> bool:
    present = set(inspect(engine).get_table_names())
    return all(name in present for name in names)
