"""Queries several services share."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from wingspan.server.db.models import ExecutionRow

__all__ = ["execution_row"]


async def execution_row(session: Any, execution_id: Any, *, lock: bool = False) -> ExecutionRow | None:
    """The execution named by an (already checked) execution id, locked for update if asked."""
    query = select(ExecutionRow).where(
        ExecutionRow.project == execution_id.project,
        ExecutionRow.domain == execution_id.domain,
        ExecutionRow.name == execution_id.name,
    )
    if lock:
        query = query.with_for_update()
    row: ExecutionRow | None = (await session.execute(query)).scalar_one_or_none()
    return row
