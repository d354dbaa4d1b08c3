"""engine claims: held executions, lease owner and expiry, requested aborts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 11:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held", sa.Boolean(), server_default=sa.text("false"), nullable=False))
        batch_op.add_column(sa.Column("owner", sa.String(length=255), server_default="", nullable=False))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("abort_requested", sa.Text(), server_default="", nullable=False))
        batch_op.create_index(
            batch_op.f("ix_executions_phase_held_lease_expires_at"),
            ["phase", "held", "lease_expires_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_phase_held_lease_expires_at"))
        batch_op.drop_column("abort_requested")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("owner")
        batch_op.drop_column("held")
