"""The schema comes from the migrations: a fresh database gets exactly the tables the code
declares, on SQLite and PostgreSQL, and a database made before the migrations keeps its rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from assistant.memory import audit, limits, store
from assistant.migrations import config, upgrade
from assistant.search import catalog

DECLARED = [
    store.Base.metadata,
    audit._Base.metadata,
    limits._Base.metadata,
    catalog.CATALOG_TABLES,
]


def declared() -> sqlalchemy.MetaData:
    every = sqlalchemy.MetaData()
    for metadata in DECLARED:
        for table in metadata.tables.values():
            table.to_metadata(every)
    return every


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> sqlalchemy.Engine:
    if request.param == "sqlite":
        return sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    # A database of its own in the shared server, so that other tests' tables do not count.
    server = sqlalchemy.create_engine(request.getfixturevalue("postgres_url"))
    name = f"fresh_{tmp_path.name[-12:].lower().replace('-', '_')}"
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
        db.execute(sqlalchemy.text(f"create database {name}"))
    return sqlalchemy.create_engine(server.url.set(database=name))


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def test_the_migrations_build_the_schema_the_code_declares(
    fresh_database: sqlalchemy.Engine,
) -> None:
    upgrade(fresh_database)
    with fresh_database.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() == head()
        assert compare_metadata(context, declared()) == []


def test_the_migrations_keep_the_append_only_trigger(fresh_database: sqlalchemy.Engine) -> None:
    upgrade(fresh_database)
    trail = audit.AuditTrail(str(fresh_database.url.render_as_string(hide_password=False)))
    trail.append("migrated", "turn.released", {"answer": "原文"})
    refused = pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only")
    with refused, fresh_database.begin() as db:
        db.execute(sqlalchemy.text("delete from audit_records where stream = 'migrated'"))


def test_a_database_made_before_the_migrations_is_brought_up_to_date_with_its_rows(
    tmp_path: Path,
) -> None:
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    store.Base.metadata.create_all(engine)  # as the versions before the migrations did
    with engine.begin() as db:
        db.execute(
            sqlalchemy.text(
                "insert into conversations values ('s1', 'app:1:customer', '2026-01-05')"
            )
        )
    upgrade(engine)
    upgrade(engine)  # a second worker starting finds nothing to do
    with engine.connect() as db:
        assert db.execute(sqlalchemy.text("select owner from conversations")).scalar() == (
            "app:1:customer"
        )
        assert MigrationContext.configure(db).get_current_revision() == head()


def test_workers_starting_together_on_a_new_sqlite_file_take_turns(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    url, start = f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "start"
    code = (
        "import pathlib, time, sqlalchemy; from assistant.migrations import upgrade\n"
        f"while not pathlib.Path({str(start)!r}).exists(): time.sleep(0.01)\n"
        f"upgrade(sqlalchemy.create_engine({url!r}))"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(4)
    ]
    time.sleep(4)  # every worker has imported and waits; then all start at once
    start.touch()
    errors = [worker.communicate(timeout=120)[1].decode()[-300:] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], errors
    with sqlalchemy.create_engine(url).connect() as db:
        assert MigrationContext.configure(db).get_current_revision() == head()
