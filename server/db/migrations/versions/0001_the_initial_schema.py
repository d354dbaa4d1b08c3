"""the initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-29 09:36:57.489579
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_entries",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dataset", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("inputs_digest", sa.String(length=128), nullable=False),
        sa.Column("outputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_entries")),
        sa.UniqueConstraint(
            "dataset",
            "version",
            "inputs_digest",
            name=op.f("uq_catalog_entries_dataset_version_inputs_digest"),
        ),
    )
    op.create_table(
        "catalog_reservations",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dataset", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("inputs_digest", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_reservations")),
        sa.UniqueConstraint(
            "dataset",
            "version",
            "inputs_digest",
            name=op.f("uq_catalog_reservations_dataset_version_inputs_digest"),
        ),
    )
    op.create_table(
        "domains",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
    )
    op.create_table(
        "executions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("entity_type", sa.Integer(), nullable=False),
        sa.Column("entity_name", sa.String(length=255), nullable=False),
        sa.Column("entity_version", sa.String(length=255), nullable=False),
        sa.Column("launch_plan_name", sa.String(length=255), nullable=False),
        sa.Column("workflow_name", sa.String(length=255), nullable=False),
        sa.Column("workflow_version", sa.String(length=255), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("mode", sa.Integer(), nullable=False),
        sa.Column("principal", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("spec_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("error_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("inputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("inputs_uri", sa.Text(), nullable=False),
        sa.Column("outputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
        sa.UniqueConstraint("project", "domain", "name", name=op.f("uq_executions_project_domain_name")),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_executions_project_domain_created_at_id"),
            ["project", "domain", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_executions_project_domain_entity_name_created_at"),
            ["project", "domain", "entity_name", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_executions_project_domain_phase_created_at"),
            ["project", "domain", "phase", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_executions_project_finished_at"), ["project", "finished_at"], unique=False
        )

    op.create_table(
        "launch_plans",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("content_uri", sa.Text(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("workflow_name", sa.String(length=255), nullable=False),
        sa.Column("workflow_version", sa.String(length=255), nullable=False),
        sa.Column("scheduled", sa.Boolean(), nullable=False),
        sa.Column("closure_bytes", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launch_plans")),
        sa.UniqueConstraint(
            "project", "domain", "name", "version", name=op.f("uq_launch_plans_project_domain_name_version")
        ),
    )
    with op.batch_alter_table("launch_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_launch_plans_project_domain_name_created_at"),
            ["project", "domain", "name", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "uq_launch_plans_one_active",
            ["project", "domain", "name"],
            unique=True,
            sqlite_where=sa.text("state = 1"),
            postgresql_where=sa.text("state = 1"),
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("retention_seconds", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("content_uri", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint(
            "project", "domain", "name", "version", name=op.f("uq_tasks_project_domain_name_version")
        ),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_project_domain_name_created_at"),
            ["project", "domain", "name", "created_at"],
            unique=False,
        )

    op.create_table(
        "workflows",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project", sa.String(length=63), nullable=False),
        sa.Column("domain", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("content_uri", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
        sa.UniqueConstraint(
            "project", "domain", "name", "version", name=op.f("uq_workflows_project_domain_name_version")
        ),
    )
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_workflows_project_domain_name_created_at"),
            ["project", "domain", "name", "created_at"],
            unique=False,
        )

    op.create_table(
        "events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("data_uri", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_events_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("execution_id", "key", name=op.f("uq_events_execution_id_key")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_execution_id_id"), ["execution_id", "id"], unique=False)

    op.create_table(
        "node_executions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("parent_node_id", sa.String(length=1024), nullable=False),
        sa.Column("spec_node_id", sa.String(length=255), nullable=False),
        sa.Column("node_name", sa.String(length=255), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("cache_status", sa.Integer(), nullable=False),
        sa.Column("is_parent", sa.Boolean(), nullable=False),
        sa.Column("is_dynamic", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("inputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("inputs_uri", sa.Text(), nullable=False),
        sa.Column("outputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.Column("dynamic_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("dynamic_uri", sa.Text(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_node_executions_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_executions")),
        sa.UniqueConstraint("execution_id", "node_id", name=op.f("uq_node_executions_execution_id_node_id")),
    )
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_node_executions_execution_id_parent_node_id"),
            ["execution_id", "parent_node_id"],
            unique=False,
        )

    op.create_table(
        "signals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("signal_id", sa.String(length=255), nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("type_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("value_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_signals_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("execution_id", "signal_id", name=op.f("uq_signals_execution_id_signal_id")),
    )
    op.create_table(
        "task_executions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("execution_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("task_project", sa.String(length=63), nullable=False),
        sa.Column("task_domain", sa.String(length=63), nullable=False),
        sa.Column("task_name", sa.String(length=255), nullable=False),
        sa.Column("task_version", sa.String(length=255), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("cache_status", sa.Integer(), nullable=False),
        sa.Column("plugin", sa.String(length=255), nullable=False),
        sa.Column("plugin_handle", sa.LargeBinary(), nullable=True),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["executions.id"],
            name=op.f("fk_task_executions_execution_id_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_executions")),
        sa.UniqueConstraint(
            "execution_id", "node_id", "attempt", name=op.f("uq_task_executions_execution_id_node_id_attempt")
        ),
    )


def downgrade() -> None:
    op.drop_table("task_executions")
    op.drop_table("signals")
    with op.batch_alter_table("node_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_node_executions_execution_id_parent_node_id"))

    op.drop_table("node_executions")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_execution_id_id"))

    op.drop_table("events")
    with op.batch_alter_table("workflows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workflows_project_domain_name_created_at"))

    op.drop_table("workflows")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_project_domain_name_created_at"))

    op.drop_table("tasks")
    op.drop_table("projects")
    with op.batch_alter_table("launch_plans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_launch_plans_one_active",
            sqlite_where=sa.text("state = 1"),
            postgresql_where=sa.text("state = 1"),
        )
        batch_op.drop_index(batch_op.f("ix_launch_plans_project_domain_name_created_at"))

    op.drop_table("launch_plans")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_executions_project_finished_at"))
        batch_op.drop_index(batch_op.f("ix_executions_project_domain_phase_created_at"))
        batch_op.drop_index(batch_op.f("ix_executions_project_domain_entity_name_created_at"))
        batch_op.drop_index(batch_op.f("ix_executions_project_domain_created_at_id"))

    op.drop_table("executions")
    op.drop_table("domains")
    op.drop_table("catalog_reservations")
    op.drop_table("catalog_entries")
