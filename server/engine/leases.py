"""An engine replica's claims on executions: a lease (owner, expiry) per execution.

A replica claims runnable executions that nobody holds, that it held itself before a
restart, or whose lease ran out (their replica stopped heartbeating); it extends the
leases of what it runs, and gives each back when its run ends. On PostgreSQL the claim
skips rows another replica is claiming at the same moment, so no two take the same one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import timedelta

import anyio
from sqlalchemy import or_, update
from sqlmodel import col, select

from wingspan.core.model.execution import WorkflowPhase
from wingspan.server.db.engine import DATABASE_ERRORS, Database, now
from wingspan.server.db.models import ExecutionRow

__all__ = ["RUNNABLE", "Leases"]

log = logging.getLogger("wingspan.engine")

#: the phases in which an engine has something to do for an execution
#: at most this long a stopping replica tries to give its leases back (then they run out)
RELEASE_ALL_WITHIN = 10.0

RUNNABLE = (int(WorkflowPhase.QUEUED), int(WorkflowPhase.RUNNING), int(WorkflowPhase.ABORTING))


class Leases:
    """Claims, extends and releases the leases of replica ``replica_id``."""

    def __init__(self, db: Database, replica_id: str, *, seconds: float) -> None:
        self.db = db
        self.replica_id = replica_id
        self.seconds = seconds
        #: told how many executions a claim took from replicas whose leases had run out
        self.on_takeover: Callable[[int], None] | None = None

    async def claim(self, limit: int, *, besides: Collection[int] = ()) -> list[int]:
        """Takes up to ``limit`` runnable executions (not those in ``besides``, already
        running here), oldest first; returns their keys."""
        at = now()
        statement = select(col(ExecutionRow.id), col(ExecutionRow.owner)).where(
            col(ExecutionRow.phase).in_(RUNNABLE),
            col(ExecutionRow.held).is_(False),
            or_(
                col(ExecutionRow.owner) == "",
                col(ExecutionRow.owner) == self.replica_id,
                col(ExecutionRow.lease_expires_at) < at,
            ),
        )
        if besides:
            statement = statement.where(col(ExecutionRow.id).not_in(list(besides)))
        statement = statement.order_by(col(ExecutionRow.id)).limit(limit)
        if self.db.dialect == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        async with self.db.write() as session:
            claimed = list((await session.execute(statement)).all())
            keys = [int(row_id) for row_id, _owner in claimed if row_id is not None]
            if keys:
                await session.execute(
                    update(ExecutionRow)
                    .where(col(ExecutionRow.id).in_(keys))
                    .values(owner=self.replica_id, lease_expires_at=at + timedelta(seconds=self.seconds))
                )
        taken = sum(1 for _row_id, owner in claimed if owner not in ("", self.replica_id))
        if taken and self.on_takeover is not None:
            self.on_takeover(taken)
        return keys

    async def extend(self, keys: Collection[int]) -> set[int]:
        """Extends the leases on ``keys`` this replica still holds; returns those it extended
        (a key left out is owned by another replica now)."""
        if not keys:
            return set()
        async with self.db.write() as session:
            # rows locked in id order first, the order the event writer locks them in: an
            # UPDATE ... IN (...) alone locks in any order, and two such orders can deadlock
            await session.execute(
                select(col(ExecutionRow.id))
                .where(col(ExecutionRow.id).in_(list(keys)))
                .order_by(col(ExecutionRow.id))
                .with_for_update()
            )
            extended = (
                await session.execute(
                    update(ExecutionRow)
                    .where(col(ExecutionRow.id).in_(list(keys)), col(ExecutionRow.owner) == self.replica_id)
                    .values(lease_expires_at=now() + timedelta(seconds=self.seconds))
                    .returning(col(ExecutionRow.id))
                )
            ).scalars()
            return {int(found) for found in extended if found is not None}

    async def release(self, execution_key: int) -> None:
        """Gives the lease on an execution back, so that another replica may take it at once.

        When the database does not answer, the lease is left to run out (at most
        ``seconds`` later): nothing is lost by waiting, so this logs and returns."""
        try:
            async with self.db.write() as session:
                await session.execute(
                    update(ExecutionRow)
                    .where(col(ExecutionRow.id) == execution_key, col(ExecutionRow.owner) == self.replica_id)
                    .values(owner="", lease_expires_at=None)
                )
        except DATABASE_ERRORS as exc:
            log.warning(
                "execution %s: releasing its lease failed (%s: %s); it runs out within %.0f s",
                execution_key, type(exc).__name__, exc, self.seconds,
            )

    async def release_all(self) -> int:
        """Gives back every lease this replica holds (it stops: others take its executions at
        once instead of after ``seconds``); returns how many. A database that does not answer
        (or not within :data:`RELEASE_ALL_WITHIN` seconds: the stop goes on) leaves them to run
        out, as :meth:`release` does."""
        try:
            with anyio.fail_after(RELEASE_ALL_WITHIN, reason=f"no answer within {RELEASE_ALL_WITHIN} s"):
                async with self.db.write() as session:
                    released = (
                        await session.execute(
                            update(ExecutionRow)
                            .where(col(ExecutionRow.owner) == self.replica_id)
                            .values(owner="", lease_expires_at=None)
                            .returning(col(ExecutionRow.id))
                        )
                    ).scalars()
                    return len(list(released))
        except DATABASE_ERRORS as exc:  # TimeoutError among them (an OSError)
            log.warning("releasing this replica's leases failed (%s: %s); they run out within %.0f s",
                        type(exc).__name__, exc, self.seconds)
            return 0
