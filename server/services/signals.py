"""Signals: the values approve and wait_for_input gates wait for.

An execution's signals are known when it is created (the gates of its closure, in
subworkflows and branches too); an engine may add one at run time (a gate of a
dynamic node) with :meth:`SignalService.ensure_signal`. Setting a signal checks the
value against the gate's type; setting it again to the same value is a no-op, to
another value a failed precondition.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from wingspan.core.compiler import literal_fits
from wingspan.core.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from wingspan.core.model import codec
from wingspan.core.model.interface import ExecutionId, ResourceType, SignalId
from wingspan.core.model.literals import Literal, LiteralType, SimpleType
from wingspan.core.model.progress import Signal
from wingspan.core.model.workflows import CompiledWorkflowClosure, Node
from wingspan.server.db.engine import Database, is_unique_violation, now, utc
from wingspan.server.db.models import ExecutionRow, SignalRow, key
from wingspan.server.db.queries import execution_row
from wingspan.server.db.wakeups import SIGNALLED, announce
from wingspan.server.services.identifiers import check_execution_id
from wingspan.server.services.pagination import Field, Listing, ListQuery, Page, page

__all__ = ["SignalService", "gate_signals"]

_BOOLEAN = LiteralType("simple", SimpleType.BOOLEAN, annotation="bool")
_FIELDS = {"created_at": Field(SignalRow.created_at, "time", sortable=True)}


def gate_signals(closure: CompiledWorkflowClosure) -> Iterator[tuple[str, str, LiteralType | None]]:
    """(signal id, node id path, expected type) of every gate that waits for a signal."""
    subs = {c.template.id: c.template for c in closure.sub_workflows if c.template and c.template.id}
    seen: set[str] = set()

    def walk(
        nodes: tuple[Node, ...], prefix: str, depth: int
    ) -> Iterator[tuple[str, str, LiteralType | None]]:
        for node in nodes:
            path = prefix + node.id
            match node.kind:
                case "gate_node" if node.value.kind in ("approve", "signal"):
                    condition = node.value.value
                    if condition.signal_id not in seen:
                        seen.add(condition.signal_id)
                        yield (
                            condition.signal_id,
                            path,
                            _BOOLEAN if node.value.kind == "approve" else condition.type,
                        )
                case "branch_node":
                    inner = [c.then_node for c in node.value.cases if c.then_node is not None]
                    if node.value.kind == "else_node":
                        inner.append(node.value.value)
                    yield from walk(tuple(inner), prefix, depth)
                case "workflow_node" if node.value.kind == "subworkflow_id" and depth < 32:
                    sub = subs.get(node.value.value)
                    if sub is None:
                        sub = next(
                            (
                                t
                                for k, t in subs.items()
                                if k.name == node.value.value.name
                                and k.version == node.value.value.version
                                and node.value.value.resource_type in (ResourceType.WORKFLOW, 0)
                            ),
                            None,
                        )
                    if sub is not None:
                        yield from walk(sub.nodes, path + "/", depth + 1)

    primary = closure.primary.template if closure.primary else None
    if primary is not None:
        yield from walk(primary.nodes, "", 0)


def _signal(row: SignalRow, execution: ExecutionRow) -> Signal:
    return Signal(
        id=SignalId(ExecutionId(execution.project, execution.domain, execution.name), row.signal_id),
        type=codec.decode(LiteralType, row.type_bytes) if row.type_bytes else None,
        value=codec.decode(Literal, row.value_bytes) if row.value_bytes is not None else None,
        created_at=utc(row.created_at),
        set_at=utc(row.set_at),
        node_id=row.node_id,
    )


class SignalService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _execution(self, session: Any, execution_id: ExecutionId | None) -> ExecutionRow:
        execution_id = check_execution_id(execution_id)
        row = await execution_row(session, execution_id)
        if row is None:
            raise NotFoundError(
                f"execution {execution_id.project}/{execution_id.domain}/{execution_id.name} does not exist"
            )
        return row

    async def list_signals(
        self, execution_id: ExecutionId | None, listing: Listing | None = None
    ) -> Page[Signal]:
        """An execution's signals, first made first (``listing``: the page's limit and token)."""
        listing = listing or Listing()
        async with self.db.read() as session:
            execution = await self._execution(session, execution_id)
            statement, finish = page(
                select(SignalRow).where(SignalRow.execution_id == execution.id),
                ListQuery(
                    _FIELDS,
                    SignalRow.id,
                    "created_at",
                    listing.limit,
                    listing.token,
                    ascending=True,
                ),
            )
            rows, token = finish(list((await session.execute(statement)).scalars()))
        return Page([_signal(r, execution) for r in rows], token)

    async def get_signal(self, signal_id: SignalId) -> Signal:
        async with self.db.read() as session:
            execution = await self._execution(session, signal_id.execution_id)
            row = (
                await session.execute(
                    select(SignalRow).where(
                        SignalRow.execution_id == execution.id, SignalRow.signal_id == signal_id.signal_id
                    )
                )
            ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"execution {execution.name} has no signal {signal_id.signal_id!r}")
        return _signal(row, execution)

    async def ensure_signal(
        self, signal_id: SignalId, expected: LiteralType | None, node_id: str = ""
    ) -> Signal:
        """The signal, created with its expected type unless it exists (for engines)."""
        if not signal_id.signal_id:
            raise InvalidArgumentError("the signal id is missing")
        try:
            async with self.db.write() as session:
                execution = await self._execution(session, signal_id.execution_id)
                exists = (
                    await session.execute(
                        select(SignalRow.id).where(
                            SignalRow.execution_id == execution.id, SignalRow.signal_id == signal_id.signal_id
                        )
                    )
                ).scalar_one_or_none()
                if exists is None:
                    session.add(
                        SignalRow(
                            execution_id=key(execution),
                            signal_id=signal_id.signal_id,
                            node_id=node_id,
                            type_bytes=codec.encode(expected) if expected else None,
                            created_at=now(),
                        )
                    )
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        return await self.get_signal(signal_id)

    async def set_signal(self, signal_id: SignalId | None, value: Literal | None) -> None:
        """Gives a signal its value (checked against the gate's type); the same value again
        changes nothing, another one is refused."""
        if signal_id is None or not signal_id.signal_id:
            raise InvalidArgumentError("set signal: the signal id is missing")
        if value is None:
            raise InvalidArgumentError(f"set signal {signal_id.signal_id!r}: the value is missing")
        data = codec.encode(value)
        async with self.db.write() as session:
            execution = await self._execution(session, signal_id.execution_id)
            row = (
                await session.execute(
                    select(SignalRow)
                    .where(SignalRow.execution_id == execution.id, SignalRow.signal_id == signal_id.signal_id)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"execution {execution.name} has no signal {signal_id.signal_id!r}")
            if row.type_bytes:
                expected = codec.decode(LiteralType, row.type_bytes)
                if not literal_fits(value, expected):
                    raise InvalidArgumentError(
                        f"signal {signal_id.signal_id!r} of execution {execution.name} expects "
                        f"{expected.annotation or expected.kind}, got a {value.kind} value"
                    )
            if row.value_bytes is not None:
                if row.value_bytes == data:
                    return
                raise FailedPreconditionError(
                    f"signal {signal_id.signal_id!r} of execution {execution.name} is already set "
                    "to another value"
                )
            row.value_bytes, row.set_at = data, now()
            await announce(session, SIGNALLED, execution.id)  # its gate goes on at once
