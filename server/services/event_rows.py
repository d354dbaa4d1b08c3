"""The node and task execution rows a transaction of events changes, read and written with
Core statements rather than as ORM objects.

Event ingest is the server's hottest write: every task execution moves a node row and an
attempt row several times. As ORM objects each row cost an identity-map entry, pydantic's
attribute hooks on every assignment and the unit of work's change tracking at flush. Here a
batch reads the rows it needs in one SELECT per table, changes them as :class:`StagedRow`
records (plain values, what changed noted), and writes them at its end: one INSERT per table
for the new rows, one UPDATE (executemany, by primary key) per table for the stored ones.
Nothing else reads these rows inside an ingest transaction, so writing them last is what the
ORM's flush at commit did.

The rows of one batch change different columns (an attempt's handle sets its plugin, its end
its outputs), and an executemany sets the same columns on every row: a column that only some
rows change is set through ``CASE WHEN <changed> THEN <new value> ELSE <column> END``, so one
statement serves them all. Grouped by changed columns instead, a batch of 40 chains took two
or three UPDATEs per table, each a round trip on the writer's path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Boolean, Table, bindparam, case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from wingspan.server.db.models import NodeExecutionRow, TaskExecutionRow

__all__ = ["NODE_DEFAULTS", "TASK_DEFAULTS", "StagedRow", "StagedRows"]

NODES: Final[Table] = NodeExecutionRow.__table__  # type: ignore[attr-defined]
TASKS: Final[Table] = TaskExecutionRow.__table__  # type: ignore[attr-defined]

#: the values of a new node row's columns no event has set (the model's defaults; a test pins them)
NODE_DEFAULTS: Final[dict[str, Any]] = {
    "parent_node_id": "", "spec_node_id": "", "node_name": "", "cache_status": 0, "is_parent": False,
    "is_dynamic": False, "started_at": None, "finished_at": None, "reason": "", "error_bytes": None,
    "inputs_bytes": None, "inputs_uri": "", "outputs_bytes": None, "outputs_uri": "", "dynamic_bytes": None,
    "dynamic_uri": "", "last_sequence": 0,
}
#: likewise for a new attempt's row
TASK_DEFAULTS: Final[dict[str, Any]] = {
    "task_project": "", "task_domain": "", "task_name": "", "task_version": "", "cache_status": 0,
    "plugin": "", "plugin_handle": None, "logs": "[]", "started_at": None, "finished_at": None,
    "reason": "", "error_bytes": None, "outputs_bytes": None, "outputs_uri": "", "last_sequence": 0,
}
# what ingest reads of a stored row: all but the payloads it only ever writes
_READ_SKIPPED = frozenset({"outputs_bytes", "error_bytes", "dynamic_bytes"})
_NODE_READ = [column for column in NODES.c if column.name not in _READ_SKIPPED]
_TASK_READ = [column for column in TASKS.c if column.name not in _READ_SKIPPED]


class StagedRow:
    """A node or attempt row as a transaction of events sees it: its columns as attributes;
    an assignment of a new value is noted, to be written when the transaction's events are
    all applied. A column ingest does not read (a payload it only writes) is absent until set."""

    __slots__ = ("_changed", "_values", "is_new")

    def __init__(self, values: dict[str, Any], *, is_new: bool) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_changed", set())
        object.__setattr__(self, "is_new", is_new)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{name!r} of a staged execution row was not read") from None

    def __setattr__(self, name: str, value: Any) -> None:
        values: dict[str, Any] = self._values
        if name in values and values[name] == value and type(values[name]) is type(value):
            return
        values[name] = value
        self._changed.add(name)

    def changes(self) -> dict[str, Any]:
        """The columns assigned a new value, with those values."""
        return {name: self._values[name] for name in self._changed}

    def all_values(self) -> dict[str, Any]:
        return dict(self._values)


class StagedRows:
    """The node rows (by execution key and node id) and attempt rows (by execution key, node id
    and attempt) of one ingest transaction."""

    __slots__ = ("nodes", "tasks")

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, str], StagedRow] = {}
        self.tasks: dict[tuple[int, str, int], StagedRow] = {}

    async def read(self, session: AsyncSession, executions: Iterable[int], node_ids: list[str]) -> None:
        """Reads the stored rows of the nodes ``node_ids`` of ``executions`` and their attempts."""
        executions = list(executions)
        nodes = await session.execute(select(*_NODE_READ).where(
            NODES.c.execution_id.in_(executions), NODES.c.node_id.in_(node_ids)))
        for found in nodes.mappings():
            self.nodes[(found["execution_id"], found["node_id"])] = StagedRow(dict(found), is_new=False)
        tasks = await session.execute(select(*_TASK_READ).where(
            TASKS.c.execution_id.in_(executions), TASKS.c.node_id.in_(node_ids)))
        for found in tasks.mappings():
            self.tasks[(found["execution_id"], found["node_id"], found["attempt"])] = StagedRow(
                dict(found), is_new=False)

    def new_node(self, execution_key: int, node_id: str, at: datetime) -> StagedRow:
        row = StagedRow({**NODE_DEFAULTS, "execution_id": execution_key, "node_id": node_id, "phase": 0,
                         "created_at": at, "updated_at": at}, is_new=True)
        self.nodes[(execution_key, node_id)] = row
        return row

    def new_task(
        self, execution_key: int, node_id: str, attempt: int, at: datetime, **values: Any
    ) -> StagedRow:
        row = StagedRow({**TASK_DEFAULTS, **values, "execution_id": execution_key, "node_id": node_id,
                         "attempt": attempt, "phase": 0, "created_at": at, "updated_at": at}, is_new=True)
        self.tasks[(execution_key, node_id, attempt)] = row
        return row

    async def write(self, session: AsyncSession) -> None:
        """Writes what the transaction's events changed: new rows inserted, stored ones updated."""
        for table, rows in ((NODES, self.nodes.values()), (TASKS, self.tasks.values())):
            new = [row.all_values() for row in rows if row.is_new]
            if new:
                await session.execute(insert(table), new)
            changed = _update(table, rows)
            if changed is not None:
                await session.execute(*changed)


def _update(table: Table, rows: Iterable[StagedRow]) -> tuple[Any, list[dict[str, Any]]] | None:
    """One UPDATE by primary key of the stored rows that changed, with its parameters (in key
    order, the order the ORM's flush took row locks in); None when none changed. A column
    every row changed is set plainly; one that only some changed, through a CASE on a flag
    per row (``changed_<column>``) that keeps the stored value of the others."""
    changed = [(row, row.changes()) for row in rows if not row.is_new]
    changed = [(row, changes) for row, changes in changed if changes]
    if not changed:
        return None
    columns = sorted({name for _, changes in changed for name in changes})
    everywhere = set.intersection(*(set(changes) for _, changes in changed))
    # parameters named apart from the columns: SQLAlchemy keeps those names for itself
    values: dict[str, Any] = {}
    for name in columns:
        value = bindparam(f"new_{name}", type_=table.c[name].type)
        values[name] = value if name in everywhere else case(
            (bindparam(f"changed_{name}", type_=Boolean()), value), else_=table.c[name])
    parameters = []
    for row, changes in sorted(changed, key=lambda each: int(each[0].id)):
        each: dict[str, Any] = {"row_id": row.id}
        for name in columns:
            each[f"new_{name}"] = changes.get(name)
            if name not in everywhere:
                each[f"changed_{name}"] = name in changes
        parameters.append(each)
    return update(table).where(table.c.id == bindparam("row_id")).values(values), parameters
