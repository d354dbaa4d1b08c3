"""Node executions and task executions (one per attempt): list, get, data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from wingspan.core.errors import InvalidArgumentError, NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.events import TaskLog
from wingspan.core.model.execution import CacheStatus, ExecutionError, NodePhase, TaskPhase
from wingspan.core.model.interface import (
    ExecutionId,
    Identifier,
    NodeExecutionId,
    ResourceType,
    TaskExecutionId,
)
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.progress import (
    NodeExecution,
    NodeExecutionClosure,
    TaskExecution,
    TaskExecutionClosure,
)
from wingspan.core.model.workflows import DynamicJobSpec
from wingspan.server.db.engine import Database, utc
from wingspan.server.db.models import ExecutionRow, NodeExecutionRow, TaskExecutionRow
from wingspan.server.db.models import key as key_of
from wingspan.server.services.executions import ExecutionKey, ExecutionService
from wingspan.server.services.map_item_reads import AggregatedItem, StoredMap, read_maps
from wingspan.server.services.map_items import item_of
from wingspan.server.services.pagination import EQ, IN, NEQ, Field, Filter, Listing, ListQuery, Page, page
from wingspan.server.services.payloads import Payloads

__all__ = ["NodeExecutionData", "NodeService", "TaskExecutionData"]

_NODE_FIELDS = {
    "node_id": Field(NodeExecutionRow.node_id, sortable=True),
    "phase": Field(NodeExecutionRow.phase, NodePhase),
    "created_at": Field(NodeExecutionRow.created_at, "time", sortable=True),
    "updated_at": Field(NodeExecutionRow.updated_at, "time", sortable=True),
    "node_name": Field(NodeExecutionRow.node_name),
}
_TASK_FIELDS = {"attempt": Field(TaskExecutionRow.attempt, "int", sortable=True)}
#: a map's items listed from its aggregate are scanned this many at a time
_ITEMS_WINDOW = 1000


def _phase_test(filters: tuple[Filter, ...]) -> Callable[[int], bool]:
    """Whether a map item's phase passes ``filters``: on its phase only (equal, not equal, in),
    as the items are listed from the map's aggregate, not by a query."""
    tests: list[Callable[[int], bool]] = []
    for each in filters:
        if each.field != "phase" or each.operator not in (EQ, NEQ, IN):
            raise InvalidArgumentError(
                f"filter on {each.field!r}: a map node's items are filtered by phase only (equal, not "
                "equal or in); list them without it and filter the page")
        values = frozenset(_NODE_FIELDS["phase"].parse("phase", value) for value in each.values)
        tests.append(values.__contains__ if each.operator != NEQ else _not_in(values))
    return lambda phase: all(test(phase) for test in tests)


def _not_in(values: frozenset[int]) -> Callable[[int], bool]:
    return lambda phase: phase not in values


def _one_node(*columns: Any) -> Any:
    """One node's ``columns``, by execution key and node id (unique, so one indexed row)."""
    return sa_select(*columns).where(col(NodeExecutionRow.execution_id) == bindparam("execution"),
                                     col(NodeExecutionRow.node_id) == bindparam("node"))


_NODE_TABLE = NodeExecutionRow.__table__.c  # type: ignore[attr-defined]
_NODE_DATA_COLUMNS = ("inputs_bytes", "inputs_uri", "outputs_bytes", "outputs_uri", "dynamic_bytes",
                      "dynamic_uri")
# built once each (their parameters change, not them): a node as listed (not its data), its data,
# and whether it exists
_NODE_COLUMNS = tuple(c for c in _NODE_TABLE if c.name not in _NODE_DATA_COLUMNS)
_TASK_COLUMNS = tuple(TaskExecutionRow.__table__.c)  # type: ignore[attr-defined]
_NODE_ROW = _one_node(*_NODE_COLUMNS)
_NODE_DATA = _one_node(*(_NODE_TABLE[name] for name in ("node_id", *_NODE_DATA_COLUMNS)))
_NODE_EXISTS = _one_node(col(NodeExecutionRow.node_id))
_TASK_ROW = sa_select(*_TASK_COLUMNS).where(
    col(TaskExecutionRow.execution_id) == bindparam("execution"),
    col(TaskExecutionRow.node_id) == bindparam("node"),
    col(TaskExecutionRow.attempt) == bindparam("attempt"))


@dataclass(frozen=True, slots=True)
class NodeExecutionData:
    """A node's inputs, its outputs once it succeeded, and the workflow a dynamic node made."""

    inputs: LiteralMap | None
    outputs: LiteralMap | None
    dynamic_spec: DynamicJobSpec | None


@dataclass(frozen=True, slots=True)
class TaskExecutionData:
    """An attempt's inputs (its node's) and its outputs once it succeeded."""

    inputs: LiteralMap | None
    outputs: LiteralMap | None


def _duration(row: Any) -> timedelta | None:
    started, finished = utc(row.started_at), utc(row.finished_at)
    return finished - started if started is not None and finished is not None else None


def _error(row: Any) -> ExecutionError | None:
    return codec.decode(ExecutionError, row.error_bytes) if row.error_bytes else None


def _node(row: Any, execution_id: ExecutionId) -> NodeExecution:
    closure = NodeExecutionClosure(
        phase=NodePhase(row.phase),
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        duration=_duration(row),
        error=_error(row),
        cache_status=CacheStatus(row.cache_status),
        is_parent=row.is_parent,
        is_dynamic=row.is_dynamic,
        node_name=row.node_name,
        reason=row.reason,
    )
    return NodeExecution(NodeExecutionId(execution_id, row.node_id), closure, row.parent_node_id)


def _task(row: Any, execution_id: ExecutionId) -> TaskExecution:
    closure = TaskExecutionClosure(
        phase=TaskPhase(row.phase),
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        duration=_duration(row),
        error=_error(row),
        logs=tuple(TaskLog(name, uri) for name, uri in json.loads(row.logs)),
        plugin_handle=row.plugin_handle or b"",
        plugin=row.plugin,
        reason=row.reason,
    )
    task_id = Identifier(
        ResourceType.TASK, row.task_project, row.task_domain, row.task_name, row.task_version
    )
    return TaskExecution(TaskExecutionId(task_id, NodeExecutionId(execution_id, row.node_id), row.attempt),
                         closure)


def _execution_id(row: ExecutionRow) -> ExecutionId:
    return ExecutionId(row.project, row.domain, row.name)


def _literals(data: bytes | None) -> LiteralMap | None:
    return codec.decode(LiteralMap, data) if data is not None else None


class NodeService:
    def __init__(self, db: Database, payloads: Payloads, executions: ExecutionService) -> None:
        self.db = db
        self.payloads = payloads
        self.executions = executions

    async def list_node_executions(
        self, execution_id: ExecutionId | None, parent_node_id: str = "", listing: Listing | None = None
    ) -> Page[NodeExecution]:
        """The nodes directly under ``parent_node_id`` (top-level ones when it is empty), by
        creation order (``listing``: the page's limit, token and filters)."""
        listing = listing or Listing()
        execution = await self.executions.key(execution_id)
        if parent_node_id:
            async with self.db.read() as session:
                maps = await read_maps(session, execution.row_id, parent_node_id)
            if maps:
                return await self._list_items(execution, maps[parent_node_id], listing)
        # plain rows of the columns a node's message needs (not its data), not ORM objects
        statement = sa_select(*_NODE_COLUMNS).where(
            col(NodeExecutionRow.execution_id) == execution.row_id,
            col(NodeExecutionRow.parent_node_id) == parent_node_id,
        )
        query = ListQuery(
            _NODE_FIELDS,
            NodeExecutionRow.id,
            "created_at",
            listing.limit,
            listing.token,
            listing.filters,
            ascending=True,
        )
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows, token = finish(list((await session.execute(statement)).all()))
        return Page([_node(r, execution.id) for r in rows], token)

    async def _list_items(
        self, execution: ExecutionKey, stored: StoredMap, listing: Listing
    ) -> Page[NodeExecution]:
        """A map's items by index (the token: the next page's first index), each from its own row
        if it has one, else from the map's aggregate; items not started yet are left out."""
        if listing.token and not listing.token.isdigit():
            raise InvalidArgumentError(f"page token {listing.token!r}: not one this list gave")
        keep = _phase_test(listing.filters)
        limit, index, count = listing.limit or 100, int(listing.token or 0), len(stored.phases)
        promoted = set(stored.promoted())
        found: list[NodeExecution] = []
        while index < count and len(found) < limit:
            # a window of items at a time: the promoted ones among them read in one statement
            window = range(index, min(count, index + _ITEMS_WINDOW))
            own = [f"{stored.node_id}/{i}" for i in window if i in promoted]
            rows = await self._item_rows(execution, own)
            for item in window:
                if len(found) == limit:
                    break
                row = rows.get(f"{stored.node_id}/{item}")
                node = (_node(row, execution.id) if row is not None
                        else stored.item(item).node(execution.id) if stored.aggregated(item) else None)
                if node is not None and node.closure is not None and keep(int(node.closure.phase)):
                    found.append(node)
                index = item + 1  # where the next page starts
        more = index < count and stored.started_from(index) > 0
        return Page(found, str(index) if more else "")

    async def _item_rows(self, execution: ExecutionKey, node_ids: list[str]) -> dict[str, Any]:
        if not node_ids:
            return {}
        statement = sa_select(*_NODE_COLUMNS).where(col(NodeExecutionRow.execution_id) == execution.row_id,
                                                    col(NodeExecutionRow.node_id).in_(node_ids))
        async with self.db.read() as session:
            return {r.node_id: r for r in (await session.execute(statement)).all()}

    async def _aggregated(self, execution: ExecutionKey, node_id: str) -> AggregatedItem | None:
        """The item ``node_id`` as its map's aggregate has it (None: it is no aggregated item)."""
        item = item_of(node_id)
        if item is None:
            return None
        async with self.db.read() as session:
            maps = await read_maps(session, execution.row_id, item[0])
        stored = maps.get(item[0])
        return stored.item(item[1]) if stored is not None and stored.aggregated(item[1]) else None

    async def child_counts(self, execution_id: ExecutionId | None) -> dict[str, int]:
        """How many nodes run directly under each parent node of the execution (a map's items, a
        dynamic node's or a subworkflow's nodes); one grouped count over the
        (execution, parent) index, so the console can fold a parent of thousands unread."""
        execution = await self.executions.row(execution_id)
        statement = (sa_select(col(NodeExecutionRow.parent_node_id), func.count())
                     .where(col(NodeExecutionRow.execution_id) == execution.id,
                            col(NodeExecutionRow.parent_node_id) != "")
                     .group_by(col(NodeExecutionRow.parent_node_id)))
        async with self.db.read() as session:
            rows = (await session.execute(statement)).all()
            maps = await read_maps(session, key_of(execution))
        counts = {parent: count for parent, count in rows}
        for node_id, stored in maps.items():  # items with no rows of their own
            counts[node_id] = counts.get(node_id, 0) + stored.aggregated_count()
        return {parent: count for parent, count in counts.items() if count}

    async def attempts_of(
        self, execution_id: ExecutionId | None, node_ids: list[str]
    ) -> list[TaskExecution]:
        """The attempts of the nodes ``node_ids`` (a map's items shown at once), in one read: a
        map's item events are folded into these rows, not stored as events, so a view of their
        attempts over time reads them here."""
        execution = await self.executions.row(execution_id)
        statement = select(TaskExecutionRow).where(
            TaskExecutionRow.execution_id == execution.id, col(TaskExecutionRow.node_id).in_(node_ids))
        async with self.db.read() as session:
            rows = list((await session.execute(statement)).scalars())
            maps = await read_maps(session, key_of(execution))
        found = _execution_id(execution)
        attempts = [_task(r, found) for r in rows]
        for node_id in set(node_ids) - {r.node_id for r in rows}:  # items in their map's aggregate
            item = item_of(node_id)
            stored = maps.get(item[0]) if item else None
            if item is not None and stored is not None and stored.aggregated(item[1]):
                attempts += stored.item(item[1]).attempts(found)
        return attempts

    async def _node_row(
        self, node_execution_id: NodeExecutionId | None, columns: Any = _NODE_ROW
    ) -> tuple[ExecutionKey, Any]:
        """The execution's key and its node's row (of ``columns``): two indexed single-row
        statements, no session opened."""
        if node_execution_id is None or not node_execution_id.node_id:
            raise InvalidArgumentError("the node execution id is missing")
        execution = await self.executions.key(node_execution_id.execution_id)
        node_id = node_execution_id.node_id
        rows = await self.db.query(columns, {"execution": execution.row_id, "node": node_id})
        if not rows:
            raise NotFoundError(f"execution {execution.id.name} has no node {node_id!r}")
        return execution, rows[0]

    async def _item_instead(self, node_execution_id: NodeExecutionId | None, missing: NotFoundError
                            ) -> tuple[ExecutionKey, AggregatedItem]:
        """The map item a node id without a row names, from its map's aggregate; else raises
        ``missing`` (what the row's look-up raised)."""
        assert node_execution_id is not None  # a missing one raised another error
        execution = await self.executions.key(node_execution_id.execution_id)
        item = await self._aggregated(execution, node_execution_id.node_id)
        if item is None:
            raise missing
        return execution, item

    async def get_node_execution(self, node_execution_id: NodeExecutionId | None) -> NodeExecution:
        try:
            execution, row = await self._node_row(node_execution_id)
        except NotFoundError as exc:
            execution, item = await self._item_instead(node_execution_id, exc)
            return item.node(execution.id)
        return _node(row, execution.id)

    async def get_node_execution_data(self, node_execution_id: NodeExecutionId | None) -> NodeExecutionData:
        try:
            _, row = await self._node_row(node_execution_id, _NODE_DATA)
        except NotFoundError as exc:
            # an item's inputs are not stored apart from its map's (no node's are, see the sink)
            _, item = await self._item_instead(node_execution_id, exc)
            return NodeExecutionData(inputs=None, outputs=await item.outputs(self.db, self.payloads),
                                     dynamic_spec=None)
        inputs = await self.payloads.get(row.inputs_bytes, row.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        dynamic = await self.payloads.get(row.dynamic_bytes, row.dynamic_uri)
        return NodeExecutionData(
            inputs=_literals(inputs),
            outputs=_literals(outputs),
            dynamic_spec=codec.decode(DynamicJobSpec, dynamic) if dynamic is not None else None,
        )

    async def list_task_executions(
        self, node_execution_id: NodeExecutionId | None, listing: Listing | None = None
    ) -> Page[TaskExecution]:
        """A node's attempts, first first (``listing``: the page's limit and token)."""
        listing = listing or Listing()
        try:
            execution, node = await self._node_row(node_execution_id, _NODE_EXISTS)
        except NotFoundError as exc:
            execution, item = await self._item_instead(node_execution_id, exc)
            return Page(item.attempts(execution.id) if not listing.token else [], "")
        statement = sa_select(*_TASK_COLUMNS).where(
            col(TaskExecutionRow.execution_id) == execution.row_id,
            col(TaskExecutionRow.node_id) == node.node_id,
        )
        query = ListQuery(
            _TASK_FIELDS,
            TaskExecutionRow.id,
            "attempt",
            listing.limit,
            listing.token,
            ascending=True,
        )
        statement, finish = page(statement, query)
        async with self.db.read() as session:
            rows, token = finish(list((await session.execute(statement)).all()))
        return Page([_task(r, execution.id) for r in rows], token)

    async def _task_row(
        self, task_execution_id: TaskExecutionId | None, node_columns: Any = _NODE_EXISTS
    ) -> tuple[ExecutionKey, Any, Any]:
        if task_execution_id is None:
            raise InvalidArgumentError("the task execution id is missing")
        execution, node = await self._node_row(task_execution_id.node_execution_id, node_columns)
        rows = await self.db.query(_TASK_ROW, {"execution": execution.row_id, "node": node.node_id,
                                               "attempt": int(task_execution_id.attempt)})
        if not rows:
            raise NotFoundError(
                f"node {node.node_id!r} of execution {execution.id.name} has no attempt "
                f"{task_execution_id.attempt}"
            )
        return execution, node, rows[0]

    async def _item_attempt(self, task_execution_id: TaskExecutionId | None, missing: NotFoundError
                            ) -> tuple[ExecutionKey, AggregatedItem, TaskExecution]:
        """The attempt of a map item without rows, from its map's aggregate; else raises ``missing``."""
        assert task_execution_id is not None
        execution, item = await self._item_instead(task_execution_id.node_execution_id, missing)
        attempts = [a for a in item.attempts(execution.id)
                    if a.id is not None and a.id.attempt == task_execution_id.attempt]
        if not attempts:
            raise NotFoundError(f"node {item.node_id!r} of execution {execution.id.name} has no attempt "
                                f"{task_execution_id.attempt}")
        return execution, item, attempts[0]

    async def get_task_execution(self, task_execution_id: TaskExecutionId | None) -> TaskExecution:
        try:
            execution, _, row = await self._task_row(task_execution_id)
        except NotFoundError as exc:
            return (await self._item_attempt(task_execution_id, exc))[2]
        return _task(row, execution.id)

    async def get_task_execution_data(self, task_execution_id: TaskExecutionId | None) -> TaskExecutionData:
        try:
            _, node, row = await self._task_row(task_execution_id, _NODE_DATA)
        except NotFoundError as exc:
            _, item, _ = await self._item_attempt(task_execution_id, exc)
            return TaskExecutionData(inputs=None, outputs=await item.outputs(self.db, self.payloads))
        inputs = await self.payloads.get(node.inputs_bytes, node.inputs_uri)
        outputs = await self.payloads.get(row.outputs_bytes, row.outputs_uri)
        return TaskExecutionData(inputs=_literals(inputs), outputs=_literals(outputs))
