"""a map node's items aggregated in one row, their outputs in one row per chunk (issue #24 item 5)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "map_items",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("execution_id", _ID, nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("phases", sa.LargeBinary(), nullable=False),
        sa.Column("attempts", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"],
                                name=op.f("fk_map_items_execution_id_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_items")),
        sa.UniqueConstraint("execution_id", "node_id", name=op.f("uq_map_items_execution_id_node_id")),
    )
    op.create_table(
        "map_item_chunks",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("execution_id", _ID, nullable=False),
        sa.Column("node_id", sa.String(length=1024), nullable=False),
        sa.Column("first_index", sa.Integer(), nullable=False),
        sa.Column("last_index", sa.Integer(), nullable=False),
        sa.Column("indices", sa.LargeBinary(), nullable=False),
        sa.Column("logs", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outputs_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("outputs_uri", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"],
                                name=op.f("fk_map_item_chunks_execution_id_executions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_item_chunks")),
    )
    op.create_index(op.f("ix_map_item_chunks_execution_id_node_id_first_index"), "map_item_chunks",
                    ["execution_id", "node_id", "first_index"])


def downgrade() -> None:
    op.drop_index(op.f("ix_map_item_chunks_execution_id_node_id_first_index"), table_name="map_item_chunks")
    op.drop_table("map_item_chunks")
    op.drop_table("map_items")
