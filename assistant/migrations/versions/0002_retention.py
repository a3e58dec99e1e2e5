"""Retention: the audit trail may lose its oldest records, but only behind a purge mark.

`audit_purges` records, per stream, the position below which records were purged and the hash
the first kept record chains to; it is append-only itself. The trail's triggers now let a
DELETE through only for records below the stream's latest mark. Whoever may insert a mark
(the application's own database role) may therefore delete below it; the purge is also a
record in the chain, and `assistant audit verify` reports a mark the chain never recorded.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REFUSE = "audit records are append-only"
PURGED_BELOW = (
    "COALESCE((SELECT MAX(below_position) FROM audit_purges WHERE stream = OLD.stream), 1)"
)


def upgrade() -> None:
    if "audit_purges" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "audit_purges",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("stream", sa.String(40), nullable=False),
            sa.Column("below_position", sa.Integer(), nullable=False),
            sa.Column("anchor_hash", sa.String(64), nullable=False),
            sa.Column("purged_at", sa.String(40), nullable=False),
        )
        op.create_index("ix_audit_purges_stream", "audit_purges", ["stream"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_triggers()
    elif dialect == "postgresql":
        _postgresql_triggers()


def _sqlite_triggers() -> None:
    refuse = f"BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END"
    op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    op.execute(
        "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_records "
        f"WHEN OLD.position >= {PURGED_BELOW} {refuse}"
    )
    for statement in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_purges_no_{statement.lower()} "
            f"BEFORE {statement} ON audit_purges {refuse}"
        )


def _postgresql_triggers() -> None:
    op.execute(
        "CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP = 'DELETE' THEN IF OLD.position < {PURGED_BELOW} THEN RETURN OLD; END IF; "
        f"END IF; RAISE EXCEPTION '{REFUSE}'; END $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION audit_purges_refuse() RETURNS trigger AS $$ BEGIN "
        f"RAISE EXCEPTION '{REFUSE}'; END $$ LANGUAGE plpgsql"
    )
    op.execute("DROP TRIGGER IF EXISTS audit_purges_append_only ON audit_purges")
    op.execute(
        "CREATE TRIGGER audit_purges_append_only BEFORE UPDATE OR DELETE ON audit_purges "
        "FOR EACH ROW EXECUTE FUNCTION audit_purges_refuse()"
    )
