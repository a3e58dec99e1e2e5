"""The tables of the first versions: sessions, turns, feedback, hand-offs, the audit trail
and its append-only triggers, the shared rate limits and the index catalogue.

Tables already there (a database made before the migrations, or one repaired after losing a
table) are kept as they are.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

REFUSE = "audit records are append-only"


def _create(name: str, *parts: sa.schema.SchemaItem, indexes: tuple[str, ...] = ()) -> None:
    if name in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(name, *parts)
    for column in indexes:
        op.create_index(f"ix_{name}_{column}", name, [column])


def upgrade() -> None:
    _sessions()
    _audit_trail()
    _catalogue()


def _sessions() -> None:
    _create(
        "conversations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        indexes=("owner",),
    )
    _create(
        "turns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("conversations.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("citations", sa.Text(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        indexes=("session_id",),
    )
    _create(
        "feedback",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("turn_id", sa.String(64), sa.ForeignKey("turns.id"), nullable=False),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        indexes=("turn_id",),
    )
    _create(
        "handoffs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("turn_id", sa.String(64), sa.ForeignKey("turns.id"), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        indexes=("session_id", "turn_id"),
    )


def _audit_trail() -> None:
    _create(
        "audit_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("stream", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream", "position"),
        indexes=("stream",),
    )
    _refuse_changes_to_the_trail()


def _catalogue() -> None:
    """The shared rate limits and the index catalogue: what several hosts share."""
    _create(
        "rate_buckets",
        sa.Column("caller", sa.String(200), primary_key=True),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated", sa.Float(), nullable=False),
    )
    _create(
        "index_generations",
        sa.Column("index_name", sa.String(100), primary_key=True),
        sa.Column("generation", sa.String(64), primary_key=True),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("documents", sa.Text(), nullable=False),
    )
    _create(
        "index_passages",
        sa.Column("index_name", sa.String(100), primary_key=True),
        sa.Column("generation", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("chunk", sa.Text(), nullable=False),
    )
    _create(
        "index_pointers",
        sa.Column("index_name", sa.String(100), primary_key=True),
        sa.Column("generation", sa.String(64), nullable=False),
    )


def _refuse_changes_to_the_trail() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS audit_no_{statement.lower()} BEFORE {statement} "
                f"ON audit_records BEGIN SELECT RAISE(ABORT, '{REFUSE}'); END"
            )
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger AS $$ BEGIN "
            f"RAISE EXCEPTION '{REFUSE}'; END $$ LANGUAGE plpgsql"
        )
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit_records")
        op.execute(
            "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse()"
        )
