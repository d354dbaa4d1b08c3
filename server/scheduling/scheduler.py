"""The scheduler: active launch plans with a schedule start an execution at each tick.

Each round reads the active scheduled plans and, per plan, the last tick that fired
(the newest ``schedule_ticks`` row of its name); the ticks due since then, or since the
plan's activation when that is later, are filtered by its catch-up policy
(:func:`due_ticks`). A tick starts one execution whose name derives from the plan and the
tick, and the tick's row is inserted in the same transaction as that execution, under
a unique key: when two schedulers fire the same tick, one commits and the other's
insert fails (AlreadyExists), so every tick fires exactly once. The same transaction
checks that the version is still active, so a deactivation stops the schedule at once;
activating another version moves it (its ticks count from its activation).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from wingspan.core.errors import AlreadyExistsError
from wingspan.core.model import codec
from wingspan.core.model.execution_spec import ExecutionMetadata, ExecutionMode, ExecutionSpec
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.launch_plans import LaunchPlanSpec, Schedule
from wingspan.core.model.literals import LiteralMap
from wingspan.core.schedules import due_ticks, tick_execution_name, ticks_between
from wingspan.server.db.engine import now, utc
from wingspan.server.db.models import LaunchPlanRow, ScheduleTickRow, key
from wingspan.server.services.admin import AdminService
from wingspan.server.services.concurrency import PlanInactiveError

__all__ = ["Fired", "Scheduler", "kickoff_inputs", "run_scheduler", "tick_execution_name"]

_log = logging.getLogger(__name__)
# how far ahead a round looks for a plan's next tick
_HORIZON = timedelta(days=400)


async def kickoff_inputs(schedule: Schedule, tick: datetime) -> LiteralMap | None:
    """The inputs of a tick's execution: the tick time in ``kickoff_time_input_arg``, if named."""
    if not schedule.kickoff_time_input_arg:
        return None
    from wingspan.core.types import default_engine

    literal = await default_engine().to_literal(tick, datetime, name=schedule.kickoff_time_input_arg)
    return LiteralMap({schedule.kickoff_time_input_arg: literal})


def tick_spec(plan: LaunchPlanRow, tick: datetime, inputs: LiteralMap | None) -> ExecutionSpec:
    """What the tick's execution runs: this version of the plan, as the scheduler."""
    return ExecutionSpec(
        entity_id=Identifier(ResourceType.LAUNCH_PLAN, plan.project, plan.domain, plan.name, plan.version),
        inputs=inputs,
        metadata=ExecutionMetadata(mode=ExecutionMode.SCHEDULED, principal="scheduler", scheduled_at=tick),
    )


@dataclass(frozen=True)
class Fired:
    """A tick this scheduler fired (``execution`` empty when creating it failed)."""

    launch_plan: str
    tick: datetime
    execution: str
    error: str = ""


@dataclass
class Scheduler:
    """Fires the due ticks of ``admin``'s active scheduled plans; ``clock`` says what time it is."""

    admin: AdminService
    clock: Callable[[], datetime] = now
    # the latest ticks this scheduler fired (a bounded record: the server runs for months)
    fired: deque[Fired] = field(default_factory=lambda: deque(maxlen=1000))
    # versions are immutable: each plan's spec is read once (by row id)
    _specs: dict[int, LaunchPlanSpec] = field(default_factory=dict, repr=False)
    # (row id, activation) -> its next tick: until then a round passes the plan by without a query
    _quiet: dict[tuple[int, datetime], datetime] = field(default_factory=dict, repr=False)

    async def _spec(self, plan: LaunchPlanRow) -> LaunchPlanSpec:
        spec = self._specs.get(key(plan))
        if spec is None:
            data = await self.admin.entities.content(plan)
            spec = self._specs[key(plan)] = codec.decode(LaunchPlanSpec, data)
        return spec

    async def _plans(self) -> list[LaunchPlanRow]:
        async with self.admin.db.read() as session:
            return list((await session.execute(
                select(LaunchPlanRow).where(LaunchPlanRow.state == 1, col(LaunchPlanRow.scheduled).is_(True))
                .order_by(col(LaunchPlanRow.id)))).scalars())

    async def _last_tick(self, plan: LaunchPlanRow) -> datetime | None:
        async with self.admin.db.read() as session:
            last: datetime | None = (await session.execute(
                select(func.max(ScheduleTickRow.tick_at)).where(
                    ScheduleTickRow.project == plan.project, ScheduleTickRow.domain == plan.domain,
                    ScheduleTickRow.launch_plan == plan.name))).scalar_one_or_none()
        return utc(last)

    async def run_once(self) -> list[Fired]:
        """One round: fires every due tick of every active scheduled plan; what it fired."""
        at = self.clock()
        fired: list[Fired] = []
        for plan in await self._plans():
            activated = utc(plan.updated_at)
            quiet = (key(plan), activated)
            if quiet in self._quiet and at < self._quiet[quiet]:
                continue
            try:
                schedule = (await self._spec(plan)).schedule
                if schedule is None or not schedule.kind:
                    continue
                upcoming = next(ticks_between(schedule, at, at + _HORIZON, anchor=activated),
                                at + timedelta(days=1))
                last = await self._last_tick(plan)
                since = max(last, activated) if last is not None else activated
                ticks = due_ticks(schedule, since, at, anchor=activated)
            except Exception:
                _log.exception("scheduler: cannot read the schedule of launch plan %s/%s/%s version %s",
                               plan.project, plan.domain, plan.name, plan.version)
                continue
            for tick in ticks:
                outcome = await self._fire(plan, schedule, tick)
                if outcome is None:
                    break  # deactivated meanwhile
                if outcome.execution or outcome.error:
                    fired.append(outcome)
            self._quiet[quiet] = upcoming  # every due tick is done
        self.fired.extend(fired)
        if len(self._quiet) > 4 * len(self._specs) + 100:  # forget deactivated versions now and then
            self._quiet.clear()
        return fired

    async def _fire(self, plan: LaunchPlanRow, schedule: Schedule, tick: datetime) -> Fired | None:
        """Starts the tick's execution; a Fired with no execution when another replica did."""
        name = tick_execution_name(plan.project, plan.domain, plan.name, tick)
        record = ScheduleTickRow(project=plan.project, domain=plan.domain, launch_plan=plan.name,
                                 tick_at=tick, version=plan.version, execution_name=name, created_at=now())
        try:
            spec = tick_spec(plan, tick, await kickoff_inputs(schedule, tick))
            await self.admin.executions.create_execution(
                spec, project=plan.project, domain=plan.domain, name=name, tick=record)
        except AlreadyExistsError:
            return Fired(plan.name, tick, "")
        except PlanInactiveError:
            return None
        except Exception as exc:
            return await self._failed(plan, tick, exc)
        return Fired(plan.name, tick, name)

    async def _failed(self, plan: LaunchPlanRow, tick: datetime, exc: Exception) -> Fired:
        """Records a tick whose execution could not be created, so that it is not tried again
        every round (the error is logged; the plan's next ticks go on)."""
        _log.error("scheduler: launch plan %s/%s/%s version %s, tick %s: %s", plan.project, plan.domain,
                   plan.name, plan.version, tick.isoformat(), exc)
        dialect_insert = postgresql_insert if self.admin.db.dialect == "postgresql" else sqlite_insert
        async with self.admin.db.write() as session:
            await session.execute(
                dialect_insert(ScheduleTickRow)
                .values(project=plan.project, domain=plan.domain, launch_plan=plan.name, tick_at=tick,
                        version=plan.version, execution_name="", source="failed", created_at=now())
                .on_conflict_do_nothing(index_elements=["project", "domain", "launch_plan", "tick_at"])
            )
        return Fired(plan.name, tick, "", str(exc))

    async def run(self, *, stop: anyio.Event | None = None, interval: float = 1.0) -> None:
        """Rounds every ``interval`` seconds until ``stop`` is set; a failed round is logged."""
        while stop is None or not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                _log.exception("scheduler: a round failed; trying again in %.0f s", interval)
            with anyio.move_on_after(interval):
                if stop is None:
                    await anyio.sleep(interval)
                else:
                    await stop.wait()


async def run_scheduler(admin: Any, *, clock: Callable[[], datetime] = now, stop: anyio.Event | None = None,
                        interval: float = 1.0) -> None:
    """The scheduler role of ``wingspan serve``: rounds every ``interval`` seconds until ``stop``."""
    await Scheduler(admin, clock).run(stop=stop, interval=interval)
