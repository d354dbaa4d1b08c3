"""The service layer on PostgreSQL (issue: control plane I): registrations per second, and
the latency of listing executions with 100,000 of them in the database.

    python bench/services_bench.py                     # PostgreSQL from scripts/testenv
    python bench/services_bench.py --executions 20000  # a smaller table
    python bench/services_bench.py --sqlite            # the same on a SQLite file

A fresh database is created (and dropped afterwards). Executions are bulk-inserted
through SQLAlchemy Core (what an import would do, not the service's create path, which
checks inputs and is measured separately); lists go through the service, as a
transport would call it. Figures are medians of --repeat runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import asyncpg  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from scripts.testenv import postgres  # noqa: E402
from wingspan import task, workflow  # noqa: E402
from wingspan.core.config import Settings  # noqa: E402
from wingspan.core.model import codec  # noqa: E402
from wingspan.protos import v1  # noqa: E402
from wingspan.server.api.rpcs import AdminRpcs  # noqa: E402
from wingspan.server.db.models import ExecutionRow  # noqa: E402
from wingspan.server.services.admin import AdminService  # noqa: E402
from wingspan.server.services.references import complete_ids  # noqa: E402


@task
def add(a: int, b: int) -> int:
    return a + b


@workflow
def chain(x: int) -> int:
    return add(a=add(a=add(a=x, b=1), b=2), b=3)


def ident(kind: int, name: str, version: str) -> Any:
    return v1.Identifier(
        resource_type=v1.ResourceType(kind),
        project="default",
        domain="development",
        name=name,
        version=version,
    )


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median milliseconds of ``repeat`` calls (after one warm-up call)."""
    await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def registrations(admin: AdminService, count: int, concurrency: int) -> dict[str, float]:
    template = codec.to_proto(add.template)
    run = uuid.uuid4().hex[:6]

    async def register(i: int) -> None:
        await AdminRpcs(admin).register_task(
            v1.RegisterTaskRequest(id=ident(1, f"bench.add{i % 50}", f"{run}-{i}"), template=template)
        )

    start = time.perf_counter()
    for i in range(count):
        await register(i)
    serial = count / (time.perf_counter() - start)

    start = time.perf_counter()
    queue = list(range(count, 2 * count))

    async def worker() -> None:
        while queue:
            await register(queue.pop())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    concurrent = count / (time.perf_counter() - start)

    start = time.perf_counter()
    for _ in range(count // 5):  # the same version again: a no-op after a digest compare
        await AdminRpcs(admin).register_task(
            v1.RegisterTaskRequest(id=ident(1, "bench.add0", f"{run}-0"), template=template)
        )
    repeats = (count // 5) / (time.perf_counter() - start)

    for compiled in chain.closure.tasks:
        await AdminRpcs(admin).register_task(
            v1.RegisterTaskRequest(
                id=ident(1, compiled.template.id.name, run), template=codec.to_proto(compiled.template)
            )
        )
    # task references pinned to the tasks' version (unpinned ones take the workflow's version)
    wf_template = codec.to_proto(complete_ids(chain.template, "default", "development", run))
    start = time.perf_counter()
    for i in range(count // 5):
        await AdminRpcs(admin).register_workflow(
            v1.RegisterWorkflowRequest(id=ident(2, chain.name, f"{run}-{i}"), template=wf_template)
        )
    elapsed = time.perf_counter() - start
    workflows = (count // 5) / elapsed if elapsed else 0.0
    return {
        "tasks_per_s_serial": serial,
        f"tasks_per_s_{concurrency}_concurrent": concurrent,
        "identical_reregistrations_per_s": repeats,
        "workflows_per_s_compiled": workflows,
    }


async def bulk_executions(admin: AdminService, count: int, plans: int) -> None:
    spec = bytes(
        v1.ExecutionSpec(entity_id=ident(3, "plan0", "v1"), metadata=v1.ExecutionMetadata(principal="bench"))
    )
    rng = random.Random(7)
    phases = [3] * 70 + [4] * 10 + [2] * 15 + [1] * 5  # mostly succeeded, some failed, running, queued
    start_at = datetime.now(UTC) - timedelta(days=30)
    batch = 5000
    for offset in range(0, count, batch):
        rows = []
        for i in range(offset, min(offset + batch, count)):
            created = start_at + timedelta(seconds=i * 30 * 86400 / count)
            phase = rng.choice(phases)
            ended = created + timedelta(minutes=rng.randint(1, 60)) if phase in (3, 4) else None
            plan = f"plan{rng.randrange(plans)}"
            rows.append(
                {
                    "project": "default",
                    "domain": "development",
                    "name": f"x{i:08d}",
                    "entity_type": 3,
                    "entity_name": plan,
                    "entity_version": "v1",
                    "launch_plan_name": plan,
                    "workflow_name": "wf",
                    "workflow_version": "v1",
                    "phase": phase,
                    "mode": 0,
                    "principal": "bench",
                    "created_at": created,
                    "started_at": created,
                    "updated_at": ended or created,
                    "finished_at": ended,
                    "reason": "",
                    "spec_bytes": spec,
                    "inputs_uri": "",
                    "outputs_uri": "",
                    "last_sequence": 0,
                }
            )
        async with admin.db.write() as session:
            await session.execute(insert(ExecutionRow), rows)
    if admin.db.dialect == "postgresql":
        # committed: statistics gathered in a transaction that rolls back are thrown away
        async with admin.db.write_engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE executions")


async def listings(admin: AdminService, count: int, repeat: int) -> dict[str, float]:
    base = {"project": "default", "domain": "development", "limit": 50}
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    two_weeks_ago = (datetime.now(UTC) - timedelta(days=14)).isoformat()

    def lister(**kw: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: AdminRpcs(admin).list_executions(v1.ListRequest(**base, **kw))

    token_at_page_20 = ""
    for _ in range(20):
        page = await AdminRpcs(admin).list_executions(v1.ListRequest(**base, token=token_at_page_20))
        token_at_page_20 = page.next_token
    phase = v1.Filter(field="phase", values=["RUNNING"])
    window = [
        v1.Filter(field="created_at", operator=v1.FilterOperator.GTE, values=[two_weeks_ago]),
        v1.Filter(field="created_at", operator=v1.FilterOperator.LT, values=[week_ago]),
    ]
    return {
        "first_page_newest_first": await timed(lister(), repeat),
        "page_21_by_token": await timed(lister(token=token_at_page_20), repeat),
        "one_launch_plan": await timed(lister(name="plan3"), repeat),
        "phase_running": await timed(lister(filters=[phase]), repeat),
        "created_in_a_week_window": await timed(lister(filters=window), repeat),
        "plan_and_phase_and_window": await timed(lister(name="plan3", filters=[phase, *window]), repeat),
        "sorted_by_name_ascending": await timed(lister(sort=v1.Sort(key="name", ascending=True)), repeat),
        "get_one_execution": await timed(
            lambda: AdminRpcs(admin).get_execution(
                v1.GetExecutionRequest(
                    id=v1.ExecutionId(project="default", domain="development", name=f"x{count // 2:08d}")
                )
            ),
            repeat,
        ),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--registrations", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        name = f"wingspan_bench_{uuid.uuid4().hex[:8]}"
        dsn = ""
        if args.sqlite:
            url = f"sqlite+aiosqlite:///{tmp}/db/bench.sqlite"
        else:
            env = postgres.ensure()
            dsn, url = env["WINGSPAN_TEST_PG_DSN"], env["WINGSPAN_TEST_PG_URL"]
            conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            url = url.rsplit("/", 1)[0] + f"/{name}"
        admin = await AdminService.open(Settings(home=Path(tmp) / "home", db_url=url))
        try:
            results: dict[str, Any] = {"backend": admin.db.dialect}
            results["registrations"] = await registrations(admin, args.registrations, args.concurrency)
            start = time.perf_counter()
            await bulk_executions(admin, args.executions, plans=20)
            results["bulk_insert_s"] = round(time.perf_counter() - start, 2)
            results["executions"] = args.executions
            results["list_ms_median"] = await listings(admin, args.executions, args.repeat)
        finally:
            await admin.aclose()
            if dsn:
                conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except asyncpg.PostgresError as exc:
                    print(f"could not drop the benchmark database {name}: {exc}", file=sys.stderr)
                finally:
                    await conn.close()
    for section, values in results.items():
        if isinstance(values, dict):
            print(section)
            for key, value in values.items():
                print(f"  {key:36} {value:10.1f}")
        else:
            print(f"{section:38} {values}")
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
