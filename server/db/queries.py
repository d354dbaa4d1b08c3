"""Queries several services share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select

from wingspan.server.db.engine import Database
from wingspan.server.db.models import ExecutionRow

__all__ = ["execution_key", "execution_parameters", "execution_row", "named_execution"]

#: the execution of a (project, domain, name), as bound parameters: a statement built with it
#: once is reused, its parameters change
named_execution = (col(ExecutionRow.project) == bindparam("project"),
                   col(ExecutionRow.domain) == bindparam("domain"),
                   col(ExecutionRow.name) == bindparam("name"))
_EXECUTION_KEY = select(col(ExecutionRow.id)).where(*named_execution)


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


async def execution_key(db: Database, execution_id: Any) -> int | None:
    """The row key of the execution named by an (already checked) execution id, None if there is
    none: one indexed statement outside any transaction, no session opened."""
    rows = await db.query(_EXECUTION_KEY, execution_parameters(execution_id))
    return int(rows[0][0]) if rows else None


def execution_parameters(execution_id: Any) -> dict[str, str]:
    """The parameters of :data:`named_execution` for an execution id."""
    return {"project": execution_id.project, "domain": execution_id.domain, "name": execution_id.name}
