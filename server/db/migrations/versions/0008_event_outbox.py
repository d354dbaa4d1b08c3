"""the outward event stream (issue #26 item 2): its outbox, and each sink's publisher lease

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "event_outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("sink", sa.String(length=63), nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"],
                                name=op.f("fk_event_outbox_execution_id_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_outbox")),
    )
    op.create_index(op.f("ix_event_outbox_sink_state_id"), "event_outbox", ["sink", "state", "id"])
    op.create_table(
        "event_publishers",
        sa.Column("sink", sa.String(length=63), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("lease_expires_at", TIME, nullable=True),
        sa.Column("published", sa.BigInteger(), nullable=False),
        sa.Column("dead", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_event_publishers")),
    )


def downgrade() -> None:
    op.drop_table("event_publishers")
    op.drop_index(op.f("ix_event_outbox_sink_state_id"), table_name="event_outbox")
    op.drop_table("event_outbox")
