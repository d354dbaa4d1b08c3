"""A launch plan's concurrency policy: at most ``max`` running executions, and what a new one
does when they are all taken (wait, skip, replace the oldest); and execution queues, named
limits shared by every execution whose settings name them (across launch plans), in which a
new execution waits while ``max`` of the queue's run.

Every decision is made inside the transaction that creates or ends an execution, under
the plan's row in ``launch_plan_slots`` (on PostgreSQL, a create upserts it and an end
selects it ``FOR UPDATE``, either of which locks it; SQLite writers are serial), so
replicas creating and ending executions at once never let more than ``max`` run, and a
held execution is released in the very transaction in which a slot frees up.

An execution takes a slot while it is QUEUED (and not held) or RUNNING; one that is
ABORTING is on its way out and frees its slot, so ``replace`` lets the new one start at
once. The engines pick up QUEUED executions whose ``held`` flag is off.

A held execution may wait for its plan, its queue or both; it is released only when both have
room. Since a queue spans launch plans, every decision that involves a plan or a queue first
locks the project's row: one order (project, then plan slots) for creates and ends alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from wingspan.core.errors import FailedPreconditionError
from wingspan.core.model import codec
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.execution_spec import ExecutionSpec
from wingspan.core.model.interface import ResourceType
from wingspan.core.model.launch_plans import ConcurrencyPolicy, WhenFull
from wingspan.core.model.settings import ExecutionQueue
from wingspan.server.db.engine import now
from wingspan.server.db.models import (
    ExecutionRow,
    LaunchPlanRow,
    LaunchPlanSlotsRow,
    ProjectRow,
    ScheduleTickRow,
)
from wingspan.server.db.wakeups import CREATED, STOPPING, announce
from wingspan.server.services.notifications import enqueue_notices
from wingspan.server.services.phases import TERMINAL_WORKFLOW

__all__ = ["ACTIVE", "PlanInactiveError", "admit", "on_phase_change", "release", "release_queue"]

#: the phases in which an execution (not held) takes one of its launch plan's slots
ACTIVE = frozenset({WorkflowPhase.QUEUED, WorkflowPhase.RUNNING})
_ACTIVE = tuple(int(p) for p in ACTIVE)
# how long a replace waits for a running execution's row another transaction holds
_LOCK_WAIT_MS = 200


class PlanInactiveError(FailedPreconditionError):
    """A schedule tick of a launch plan version that is no longer active."""


def _of_plan(project: str, domain: str, plan: str) -> Any:
    """Executions of a launch plan (through the index on entity_name)."""
    return (
        col(ExecutionRow.project) == project,
        col(ExecutionRow.domain) == domain,
        col(ExecutionRow.entity_name) == plan,
        col(ExecutionRow.entity_type) == int(ResourceType.LAUNCH_PLAN),
    )


async def _take_slots(session: AsyncSession, project: str, domain: str, plan: str, limit: int,
                      at: datetime) -> None:
    """Creates or updates the plan's slots row with ``limit``: one statement, which locks it."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(LaunchPlanSlotsRow).values(
        project=project, domain=domain, launch_plan=plan, max_running=limit, updated_at=at)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["project", "domain", "launch_plan"],
        set_={"max_running": statement.excluded.max_running, "updated_at": statement.excluded.updated_at}))


async def _lock_slots(session: AsyncSession, project: str, domain: str, plan: str) -> int | None:
    """The plan's limit, with its slots row locked; None when no execution of it had one."""
    limit: int | None = (
        await session.execute(
            select(LaunchPlanSlotsRow.max_running)
            .where(
                LaunchPlanSlotsRow.project == project,
                LaunchPlanSlotsRow.domain == domain,
                LaunchPlanSlotsRow.launch_plan == plan,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    return limit


async def _running(session: AsyncSession, project: str, domain: str, plan: str) -> int:
    found = await session.execute(
        select(func.count())
        .select_from(ExecutionRow)
        .where(*_of_plan(project, domain, plan), col(ExecutionRow.phase).in_(_ACTIVE),
               col(ExecutionRow.held).is_(False))
    )
    return int(found.scalar_one())


async def _held(session: AsyncSession, project: str, domain: str, plan: str, limit: int | None) -> list[int]:
    """Ids of the plan's held executions, oldest first."""
    statement = (
        select(ExecutionRow.id)
        .where(*_of_plan(project, domain, plan), col(ExecutionRow.held).is_(True),
               col(ExecutionRow.phase) == int(WorkflowPhase.QUEUED))
        .order_by(col(ExecutionRow.created_at), col(ExecutionRow.id))
    )
    if limit is not None:
        statement = statement.limit(limit)
    return [int(i) for i in (await session.execute(statement)).scalars()]


async def _unhold(session: AsyncSession, ids: list[int], at: datetime, room: int | None = None) -> int:
    """Releases the held executions ``ids`` in order, those whose queue (if any) has room, at
    most ``room`` of them; how many."""
    released = 0
    for execution_id in ids:
        if room is not None and released >= room:
            break
        if not await _queue_has_room(session, execution_id):
            continue
        await session.execute(
            update(ExecutionRow)
            .where(col(ExecutionRow.id) == execution_id, col(ExecutionRow.held).is_(True))
            .values(held=False, reason="", updated_at=at)
            .execution_options(synchronize_session=False)
        )
        released += 1
    if released:
        await announce(session, CREATED)  # runnable now: the engines take them at once
    return released


async def _lock_project(session: AsyncSession, project: str) -> None:
    await session.execute(select(ProjectRow.id).where(ProjectRow.id == project).with_for_update())


def _of_queue(project: str, domain: str, queue: str) -> Any:
    return (col(ExecutionRow.project) == project, col(ExecutionRow.domain) == domain,
            col(ExecutionRow.queue) == queue)


async def _queue_running(session: AsyncSession, project: str, domain: str, queue: str) -> int:
    found = await session.execute(
        select(func.count()).select_from(ExecutionRow)
        .where(*_of_queue(project, domain, queue), col(ExecutionRow.phase).in_(_ACTIVE),
               col(ExecutionRow.held).is_(False)))
    return int(found.scalar_one())


async def _queue_has_room(session: AsyncSession, execution_id: int) -> bool:
    """Whether the queue of a held execution (by its own settings' limit) lets it run."""
    found = (await session.execute(
        select(ExecutionRow.project, ExecutionRow.domain, ExecutionRow.queue, ExecutionRow.spec_bytes)
        .where(col(ExecutionRow.id) == execution_id))).one_or_none()
    if found is None or not found.queue:
        return True
    settings = codec.decode(ExecutionSpec, found.spec_bytes).settings
    limit = settings.queue.max if settings is not None and settings.queue is not None else 0
    return limit <= 0 or await _queue_running(session, found.project, found.domain, found.queue) < limit


async def _plan_has_room(session: AsyncSession, execution: Any) -> bool:
    if execution.entity_type != int(ResourceType.LAUNCH_PLAN):
        return True
    limit = await _lock_slots(session, execution.project, execution.domain, execution.entity_name)
    if limit is None or limit <= 0:
        return True
    return await _running(session, execution.project, execution.domain, execution.entity_name) < limit


async def _check_active(session: AsyncSession, tick: ScheduleTickRow) -> None:
    """A tick fires only while its version is active: the row is read under a share lock, so a
    deactivation waits for this transaction or this one sees it."""
    state = (
        await session.execute(
            select(LaunchPlanRow.state)
            .where(
                LaunchPlanRow.project == tick.project,
                LaunchPlanRow.domain == tick.domain,
                LaunchPlanRow.name == tick.launch_plan,
                LaunchPlanRow.version == tick.version,
            )
            .with_for_update(read=True)
        )
    ).scalar_one_or_none()
    if state != 1:
        raise PlanInactiveError(
            f"launch plan {tick.project}/{tick.domain}/{tick.launch_plan} version {tick.version} is "
            "no longer active: its schedule stopped"
        )


async def admit(
    session: AsyncSession,
    row: ExecutionRow,
    policy: ConcurrencyPolicy | None,
    tick: ScheduleTickRow | None = None,
    queue: ExecutionQueue | None = None,
) -> None:
    """Decides, in the transaction that inserts ``row`` (before it is added), whether the new
    execution runs, waits (held: for its plan or its ``queue``), is skipped, or replaces the
    oldest running one; records ``tick`` (the schedule tick that started it) in the same
    transaction."""
    if tick is not None:
        await _check_active(session, tick)
        session.add(tick)
    planned = policy is not None and policy.max > 0 and bool(row.launch_plan_name)
    if queue is not None and queue.name:
        row.queue = queue.name
    if not planned and not row.queue:
        return
    await _lock_project(session, row.project)
    if planned:
        assert policy is not None
        await _admit_to_plan(session, row, policy)
    waits = row.queue and queue is not None and not row.held and row.phase == int(WorkflowPhase.QUEUED)
    if waits and queue is not None and await _queue_running(session, row.project, row.domain, row.queue) \
            >= queue.max:
        row.held = True
        row.reason = f"waiting for a place in queue {queue.name} (max {queue.max})"


async def _admit_to_plan(session: AsyncSession, row: ExecutionRow, policy: ConcurrencyPolicy) -> None:
    project, domain, plan, limit = row.project, row.domain, row.entity_name, int(policy.max)
    at = row.created_at or now()
    await _take_slots(session, project, domain, plan, limit, at)
    running = await _running(session, project, domain, plan)
    free = limit - running
    if free > 0:
        # free slots with executions waiting (the limit grew since they were held): the oldest
        # that their queues let run go first, then this one if a slot is left
        waiting = await _held(session, project, domain, plan, None)
        released = await _unhold(session, waiting, at, room=free)
        if released < free:
            return
        running = limit
    label = f"launch plan {plan} (max {limit})"
    when_full = WhenFull(int(policy.when_full))
    if when_full == WhenFull.WAIT:
        row.held = True
        row.reason = f"waiting for a slot of {label}"
    elif when_full == WhenFull.SKIP:
        row.phase = int(WorkflowPhase.SKIPPED)
        row.started_at = row.finished_at = at
        row.reason = f"skipped: {label} already runs {running} execution{'s' if running != 1 else ''}"
    else:
        await _replace(session, row, running - limit + 1, label, at)


async def _replace(session: AsyncSession, row: ExecutionRow, count: int, label: str, at: datetime) -> None:
    """Asks the ``count`` oldest running executions of the plan to abort (ABORTING)."""
    base = (
        select(ExecutionRow)
        .where(*_of_plan(row.project, row.domain, row.entity_name), col(ExecutionRow.phase).in_(_ACTIVE),
               col(ExecutionRow.held).is_(False))
        .order_by(col(ExecutionRow.created_at), col(ExecutionRow.id))
        .limit(count)
    )
    # rows locked by others are passed over first: a transaction ending one of them waits for
    # the slots row this one holds, so waiting for it would deadlock
    victims = list((await session.execute(base.with_for_update(skip_locked=True))).scalars())
    if len(victims) < count and session.get_bind().dialect.name == "postgresql":
        victims = await _wait_briefly(session, base) or victims
    reason = f"replaced by execution {row.name}: {label} was full"
    for victim in victims:
        victim.phase = int(WorkflowPhase.ABORTING)
        victim.reason = reason
        victim.abort_requested = reason
        victim.updated_at = at
    if victims:
        await announce(session, STOPPING)


async def _wait_briefly(session: AsyncSession, statement: Any) -> list[ExecutionRow]:
    """The rows of ``statement``, locked, waiting for them a moment (a claim or a heartbeat
    holds a row that briefly); [] when that is not enough: those rows are being changed,
    most likely ended, which frees their slots anyway."""
    try:
        async with session.begin_nested():
            await session.execute(text(f"SET LOCAL lock_timeout = '{_LOCK_WAIT_MS}ms'"))
            rows = list((await session.execute(statement.with_for_update())).scalars())
            await session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
            return rows
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        return []


async def release(session: AsyncSession, project: str, domain: str, plan: str, at: datetime) -> int:
    """Releases as many held executions of the plan as there are free slots; how many."""
    limit = await _lock_slots(session, project, domain, plan)
    if limit is None:
        return 0
    if limit <= 0:
        return await _unhold(session, await _held(session, project, domain, plan, None), at)
    free = limit - await _running(session, project, domain, plan)
    if free <= 0:
        return 0
    return await _unhold(session, await _held(session, project, domain, plan, None), at, room=free)


async def release_queue(session: AsyncSession, project: str, domain: str, queue: str, at: datetime) -> int:
    """Releases the queue's held executions, oldest first, while it has room and their launch
    plans do too; how many."""
    candidates = list((await session.execute(
        sa_select(col(ExecutionRow.id), col(ExecutionRow.entity_type), col(ExecutionRow.project),
                  col(ExecutionRow.domain), col(ExecutionRow.entity_name))
        .where(*_of_queue(project, domain, queue), col(ExecutionRow.held).is_(True),
               col(ExecutionRow.phase) == int(WorkflowPhase.QUEUED))
        .order_by(col(ExecutionRow.created_at), col(ExecutionRow.id)))).all())
    released = 0
    for candidate in candidates:
        if not await _queue_has_room(session, candidate.id):
            break  # full again: the rest wait for the next place
        if await _plan_has_room(session, candidate):
            released += await _unhold(session, [candidate.id], at)
    return released


async def on_phase_change(
    session: AsyncSession, execution: ExecutionRow, old: int, new: int, *, at: datetime | None = None
) -> None:
    """What follows an execution's phase change, in the transaction that made it: notices
    into the outbox when it ended, and a held execution released when it gave up a slot.

    A held execution asked to abort never started (engines leave it alone): it ends ABORTED
    at once instead of waiting, ABORTING, for an engine that would never come.
    """
    at = at or now()
    old_phase, new_phase = WorkflowPhase(old), WorkflowPhase(new)
    leaves = not execution.held and old_phase in ACTIVE and new_phase not in ACTIVE
    frees_a_slot = leaves and execution.entity_type == int(ResourceType.LAUNCH_PLAN)
    frees_a_place = leaves and bool(execution.queue)
    if execution.held and new_phase == WorkflowPhase.ABORTING:
        new_phase = WorkflowPhase.ABORTED
        execution.phase, execution.held, execution.finished_at = int(new_phase), False, at
    if new_phase in TERMINAL_WORKFLOW and old_phase not in TERMINAL_WORKFLOW:
        await enqueue_notices(session, execution, new_phase, at)
    if frees_a_slot or frees_a_place:
        await session.flush()
        await _lock_project(session, execution.project)
    if frees_a_slot:
        await release(session, execution.project, execution.domain, execution.entity_name, at)
    if frees_a_place:
        await release_queue(session, execution.project, execution.domain, execution.queue, at)
