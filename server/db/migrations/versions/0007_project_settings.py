"""execution settings per project, project-domain and deployment, the queue of each execution
(issue #25 item 2), and archived executions (item 1)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "project_settings",
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("settings_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("project", "domain", name=op.f("pk_project_settings")),
    )
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("state", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("queue", sa.String(length=255), server_default="", nullable=False))
    op.create_index(op.f("ix_executions_project_domain_queue_phase"), "executions",
                    ["project", "domain", "queue", "phase"])


def downgrade() -> None:
    op.drop_index(op.f("ix_executions_project_domain_queue_phase"), table_name="executions")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("queue")
        batch.drop_column("state")
    op.drop_table("project_settings")
