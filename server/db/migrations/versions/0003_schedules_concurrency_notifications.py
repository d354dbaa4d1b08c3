"""schedule ticks, launch plan concurrency slots, the notification outbox and its attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "launch_plan_slots",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("launch_plan", sa.String(length=255), nullable=False),
        sa.Column("max_running", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_plan_slots")),
        sa.UniqueConstraint(
            "project", "domain", "launch_plan", name=op.f("uq_launch_plan_slots_project_domain_launch_plan")
        ),
    )
    op.create_table(
        "schedule_ticks",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("launch_plan", sa.String(length=255), nullable=False),
        sa.Column("tick_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("execution_name", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_ticks")),
        sa.UniqueConstraint(
            "project",
            "domain",
            "launch_plan",
            "tick_at",
            name=op.f("uq_schedule_ticks_project_domain_launch_plan_tick_at"),
        ),
    )
    op.create_table(
        "notifications",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("execution_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("target_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("notice", sa.Text(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_notifications_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(op.f("ix_notifications_execution_id_id"), "notifications", ["execution_id", "id"])
    op.create_index(
        op.f("ix_notifications_state_next_attempt_at"), "notifications", ["state", "next_attempt_at"]
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_attempts_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempts")),
    )
    op.create_index(
        op.f("ix_notification_attempts_notification_id_number"),
        "notification_attempts",
        ["notification_id", "number"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_attempts_notification_id_number"), table_name="notification_attempts")
    op.drop_table("notification_attempts")
    op.drop_index(op.f("ix_notifications_state_next_attempt_at"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_execution_id_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("schedule_ticks")
    op.drop_table("launch_plan_slots")
