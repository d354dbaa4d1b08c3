"""the executions list filtered by principal reads an index, not the project's every row (issue #19)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 03:00:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_executions_project_domain_principal_created_at"), "executions",
                    ["project", "domain", "principal", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_executions_project_domain_principal_created_at"), table_name="executions")
