"""The hand-off queue: who works on a hand-off, when it last changed, and when and how it was
closed (open -> assigned -> closed, see assistant.memory.store), and an index on its state
for the queue's filter.

Hand-offs made before keep their state (open), have no assignee, and were last changed when
they were made. Columns and the index already there (a database made from the code's own
tables, or the migrations run again to repair one) are kept as they are.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "handoffs"
STATE_INDEX = "ix_handoffs_status"


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    present = {column["name"] for column in inspector.get_columns(TABLE)}
    for column in (
        sa.Column("assignee", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
    ):
        if column.name not in present:
            op.add_column(TABLE, column)
    if "updated_at" not in present:
        _add_updated_at()
    if STATE_INDEX not in {index["name"] for index in inspector.get_indexes(TABLE)}:
        op.create_index(STATE_INDEX, TABLE, ["status"])


def _add_updated_at() -> None:
    """Required, so added empty, filled from each row's creation, then made required. SQLite
    cannot change a column's nullability in place: the batch rebuilds the table there (with
    its rows, foreign key and indexes), and is a plain ALTER on PostgreSQL."""
    op.add_column(TABLE, sa.Column("updated_at", sa.DateTime(), nullable=True))
    op.execute(f"UPDATE {TABLE} SET updated_at = created_at")
    with op.batch_alter_table(TABLE) as batch:
        batch.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
