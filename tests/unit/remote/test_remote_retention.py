"""Retention on SQLite and a blob folder, with executions a served engine ran (see
retention_scenario.py; the same on PostgreSQL and MinIO in tests/real/api/test_retention_real.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.remote.retention_scenario import retention_deletes_what_expired_executions_own, write_code
from tests.unit.remote.servers import api_server


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # one folder for the module: it is imported as the module "retained" once
    return write_code(tmp_path_factory.mktemp("retention") / "code")


async def test_retention_deletes_what_expired_executions_own_and_keeps_shared_cache(
        code: Path, tmp_path: Path) -> None:
    async with api_server(tmp_path / "home", engine=True) as server:
        await retention_deletes_what_expired_executions_own(server, code)
