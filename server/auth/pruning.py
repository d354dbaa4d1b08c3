"""Forgetting what has expired: authorization codes, device codes, refresh-token families and
console sessions, deleted by a periodic sweep of the scheduler role (:func:`run_pruning`).

A refresh token is deleted with its whole family, once the family's newest token has expired:
while any token of a login may still be used, its spent ones are kept, so that presenting one
again is still recognised as reuse and ends the login.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import anyio
from sqlalchemy import delete, func, or_, select
from sqlmodel import col

from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import AuthCodeRow, ConsoleSessionRow, DeviceCodeRow, RefreshTokenRow

__all__ = ["PRUNE_SECONDS", "prune_expired", "run_pruning"]

log = logging.getLogger("wingspan.server.auth")

#: how often the sweep runs
PRUNE_SECONDS = 300.0


async def prune_expired(db: Database, *, session_idle_seconds: int) -> dict[str, int]:
    """Deletes what has expired; how many rows of each kind."""
    at = now()
    expired_families = (select(col(RefreshTokenRow.family)).group_by(col(RefreshTokenRow.family))
                        .having(func.max(col(RefreshTokenRow.expires_at)) < at))
    statements = {
        "authorization codes": delete(AuthCodeRow).where(col(AuthCodeRow.expires_at) < at),
        "device codes": delete(DeviceCodeRow).where(col(DeviceCodeRow.expires_at) < at),
        "refresh tokens": delete(RefreshTokenRow).where(col(RefreshTokenRow.family).in_(expired_families)),
        "console sessions": delete(ConsoleSessionRow).where(or_(
            col(ConsoleSessionRow.expires_at) < at,
            col(ConsoleSessionRow.last_seen_at) < at - timedelta(seconds=session_idle_seconds))),
    }
    counts: dict[str, int] = {}
    async with db.write() as session:
        for kind, statement in statements.items():
            result = await session.execute(statement)
            counts[kind] = int(getattr(result, "rowcount", 0) or 0)
    return counts


async def run_pruning(db: Database, *, session_idle_seconds: int, stop: anyio.Event,
                      every: float = PRUNE_SECONDS) -> None:
    """Sweeps at once, then every ``every`` seconds until ``stop``; a failed sweep is logged."""
    while not stop.is_set():
        try:
            counts = await prune_expired(db, session_idle_seconds=session_idle_seconds)
            if any(counts.values()):
                log.info("deleted the expired %s", ", ".join(f"{k} ({n})" for k, n in counts.items() if n))
        except Exception:
            log.exception("deleting expired codes, tokens and sessions failed; trying again in %.0f s", every)
        with anyio.move_on_after(every):
            await stop.wait()
