"""The rows event ingest stages: a new node or attempt row carries every column the model
has, with the model's defaults; an assignment is noted only when it changes the value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wingspan.server.db.models import NodeExecutionRow, TaskExecutionRow
from wingspan.server.services.event_rows import StagedRow, StagedRows

AT = datetime(2026, 1, 2, tzinfo=UTC)


def test_a_new_node_row_has_every_column_with_the_models_defaults() -> None:
    staged = StagedRows().new_node(7, "n0", AT).all_values()
    model = NodeExecutionRow(execution_id=7, node_id="n0", phase=0, created_at=AT, updated_at=AT).model_dump()
    del model["id"]
    assert staged == model


def test_a_new_attempt_row_has_every_column_with_the_models_defaults() -> None:
    staged = StagedRows().new_task(7, "n0", 2, AT, task_name="t").all_values()
    model = TaskExecutionRow(execution_id=7, node_id="n0", attempt=2, task_name="t", phase=0, created_at=AT,
                             updated_at=AT).model_dump()
    del model["id"]
    assert staged == model


def test_only_assignments_that_change_a_value_are_written() -> None:
    row = StagedRow({"id": 1, "phase": 2, "reason": "", "is_parent": False}, is_new=False)
    row.phase = 2
    row.reason = ""
    row.is_parent = 0  # not the same value for a boolean column
    row.outputs_uri = "s3://b/o"  # a column not read: always written
    assert row.changes() == {"is_parent": 0, "outputs_uri": "s3://b/o"}
    with pytest.raises(AttributeError, match="'outputs_bytes' of a staged execution row was not read"):
        _ = row.outputs_bytes
