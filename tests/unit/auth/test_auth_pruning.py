"""Expired authorization codes, device codes, refresh-token families and console sessions are
deleted by a periodic sweep of the scheduler role (issue #18); what may still be used stays."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from wingspan.core.config import Settings
from wingspan.server.auth.pruning import prune_expired
from wingspan.server.db.engine import Database, now
from wingspan.server.db.models import AuthCodeRow, ConsoleSessionRow, DeviceCodeRow, RefreshTokenRow
from wingspan.server.serve import ApiServer

PAST, FUTURE = timedelta(seconds=-60), timedelta(hours=1)


async def _add_rows(db: Database) -> None:
    at = now()
    async with db.write() as session:
        for tag, delta in (("old", PAST), ("new", FUTURE)):
            session.add(AuthCodeRow(code_hash=f"code-{tag}", client_id="c", subject="s", redirect_uri="r",
                                    code_challenge="x", expires_at=at + delta))
            session.add(DeviceCodeRow(device_code_hash=f"device-{tag}", user_code=f"U{tag}", client_id="c",
                                      expires_at=at + delta))
            session.add(ConsoleSessionRow(session_hash=f"session-{tag}", csrf_hash="h", subject="s",
                                          created_at=at, last_seen_at=at, expires_at=at + delta))
        # a session past its absolute end is gone; so is one idle too long
        session.add(ConsoleSessionRow(session_hash="session-idle", csrf_hash="h", subject="s", created_at=at,
                                      last_seen_at=at - timedelta(hours=9), expires_at=at + FUTURE))
        # a family whose every token expired goes whole; one with a live token keeps its spent ones
        session.add(RefreshTokenRow(token_hash="gone-1", family="gone", client_id="c", subject="s",
                                    expires_at=at + PAST, used_at=at))
        session.add(RefreshTokenRow(token_hash="gone-2", family="gone", client_id="c", subject="s",
                                    expires_at=at + PAST))
        session.add(RefreshTokenRow(token_hash="kept-1", family="kept", client_id="c", subject="s",
                                    expires_at=at + PAST, used_at=at))
        session.add(RefreshTokenRow(token_hash="kept-2", family="kept", client_id="c", subject="s",
                                    expires_at=at + FUTURE))


async def _left(db: Database) -> list[str]:
    async with db.read() as session:
        found: list[str] = []
        for column in (col(AuthCodeRow.code_hash), col(DeviceCodeRow.device_code_hash),
                       col(ConsoleSessionRow.session_hash), col(RefreshTokenRow.token_hash)):
            found += (await session.execute(select(column))).scalars()
    return sorted(found)


KEPT = ["code-new", "device-new", "kept-1", "kept-2", "session-new"]


async def test_the_sweep_deletes_what_expired_and_keeps_what_may_be_used(db: Database) -> None:
    await _add_rows(db)
    counts = await prune_expired(db, session_idle_seconds=8 * 3600)
    assert counts == {"authorization codes": 1, "device codes": 1, "refresh tokens": 2, "console sessions": 2}
    assert await _left(db) == KEPT


async def test_the_scheduler_role_of_serve_runs_the_sweep(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", http_port=0, grpc_port=0)
    async with ApiServer(settings, grace=2, engine=False) as server:  # makes the schema
        pass
    async with Database.from_settings(settings) as db:
        await _add_rows(db)
        swept = asyncio.Event()

        class Sweeps(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.getMessage().startswith("deleted the expired"):
                    swept.set()

        handler = Sweeps()
        logging.getLogger("wingspan.server.auth").addHandler(handler)
        try:
            async with ApiServer(settings, grace=2, roles=frozenset({"scheduler"})) as server:
                assert "scheduler" in server.roles
                await asyncio.wait_for(swept.wait(), 30)  # the first sweep runs as the role starts
        finally:
            logging.getLogger("wingspan.server.auth").removeHandler(handler)
        assert await _left(db) == KEPT
