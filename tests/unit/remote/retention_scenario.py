"""Retention on a server whose engine ran the executions (issue #25, item 3), the same on
SQLite with a blob folder and on PostgreSQL with MinIO (tests/real/api/test_retention_real.py).

Three runs of one workflow whose cached task returns a file: ``old`` (project ``short``,
retention one day) populates the cache entry of x=1; ``user`` (project ``default``, no
retention) is served from that entry; ``alone`` (``short``) populates the entry of x=2 that
nobody else uses. Two days later, retention deletes ``old`` and ``alone`` with their rows,
payloads, data and logs; the entry ``user`` was served from stays, and so does the data its
file lies in, so ``user``'s outputs still read; the entry of x=2 goes with its files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.model.projects import Project, RetentionPolicy
from wingspan.core.plugins.executor import execution_work_dir
from wingspan.server.db.engine import now
from wingspan.server.db.models import CatalogEntryRow
from wingspan.server.serve import ApiServer

FLOWS = '''
from pathlib import Path
from wingspan import File, task, workflow

@task(cache=True, cache_version="1")
def report(x: int) -> File:
    path = Path("report.txt")
    path.write_text(f"report of {x}\\n" * 100)
    print("wrote the report of", x)
    return File(str(path))

@task
def size(f: File) -> int:
    return len(Path(f.download()).read_text())

@workflow
def measured(x: int) -> tuple[File, int]:
    r = report(x=x)
    return r, size(f=r)
'''


_CODE: list[Path] = []


def write_code(factory: pytest.TempPathFactory) -> Path:
    """The scenario's code folder, one per test session: its file is imported as the module
    "retained", and a second folder holding a module of that name would be refused (the unit and
    the real tests both use it)."""
    if not _CODE or not _CODE[0].exists():
        folder = factory.mktemp("retention") / "code"
        folder.mkdir(parents=True)
        (folder / "retained.py").write_text(FLOWS)
        _CODE[:] = [folder]
    return _CODE[0]


async def _objects(server: ApiServer, *parts: str) -> list[str]:
    store = server.admin.store
    return [uri async for uri in store.list_prefix(store.uri(*parts) + "/")]


async def _entries(server: ApiServer) -> dict[str, str]:
    async with server.admin.db.read() as session:
        rows = (await session.execute(select(CatalogEntryRow).order_by(col(CatalogEntryRow.id)))).scalars()
        return {row.source: row.inputs_digest for row in rows}


async def retention_deletes_what_expired_executions_own(server: ApiServer, code: Path) -> None:
    admin = server.admin
    await admin.projects.create_project(Project(id="short", name="short",
                                                retention=RetentionPolicy(max_age=timedelta(days=1))))
    client = AsyncRemote(server.grpc_address)
    try:
        for project in ("short", "default"):
            await client.register(code, project=project)
        runs = {}
        for name, project, x in (("old", "short", 1), ("user", "default", 1), ("alone", "short", 2)):
            run = await client.execute("retained.measured", {"x": x}, project=project, name=name,
                                       wait=True, timeout=120)
            assert run.phase == WorkflowPhase.SUCCEEDED, run.error
            runs[name] = run
        assert [row["cache"] for row in await client.nodes(runs["user"])] == ["hit", "disabled"]
        assert set(await _entries(server)) == {"short/development/old/n0", "short/development/alone/n0"}
        for name in ("old", "alone"):
            assert await _objects(server, "data", "short", "development", name)
            assert (_logs(server, name)).is_dir()
        before = await _objects(server)

        later = now() + timedelta(days=2)
        dry = await admin.executions.prune_executions(at=later, dry_run=True)
        assert [(e.id.name, e.cache_entries, e.kept_cache_entries) for e in dry.executions] == [
            ("old", 0, 1), ("alone", 1, 0)]
        assert await _objects(server) == before  # a dry run deletes nothing

        done = await admin.executions.prune_executions(at=later, batch=1)
        assert [e.id.name for e in done.executions] == ["old", "alone"]
        left = await client.list_executions(project="short")
        assert left == []
        assert [e.name for e in await client.list_executions(project="default")] == ["user"]
        # the rows, payloads, logs and data of both went; the entry "user" was served from
        # stayed with its node's data, which the file of user's outputs lies in
        assert set(await _entries(server)) == {"short/development/old/n0"}
        for name in ("old", "alone"):
            assert await _objects(server, "executions", "short", "development", name) == []
            assert not _logs(server, name).exists()
        assert await _objects(server, "data", "short", "development", "alone") == []
        kept = await _objects(server, "data", "short", "development", "old")
        assert kept and all("/old/n0/" in uri for uri in kept)
        outputs = await runs["user"].outputs()
        assert outputs["o1"] == len("report of 1\n" * 100)
        # the file's URI, into old's data
        assert "/old/n0/" in outputs["o0"], outputs
        assert (await admin.store.get(outputs["o0"])).decode().startswith("report of 1")
        # nothing below the two executions' prefixes or x=2's cache folder is left
        after = await _objects(server)
        gone = set(before) - set(after)
        assert gone and all("/alone/" in uri or "/old/" in uri or "/cache/" in uri for uri in gone)
    finally:
        await client.aclose()


def _logs(server: ApiServer, name: str) -> Path:
    return execution_work_dir(server.settings.home / "logs", f"short/development/{name}")
