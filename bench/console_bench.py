"""The console's executions list over 100,000 stored executions (issue #19: a page in under
300 ms server time), through the GET routes and the console's own page.

    python bench/console_bench.py                     # PostgreSQL from scripts/testenv
    python bench/console_bench.py --sqlite            # the same on a SQLite file
    python bench/console_bench.py --executions 20000  # a smaller table

A fresh database gets the executions by bulk insert (bench/services_bench.py's), then a
server (HTTP on a free loopback port, no engine) answers: each figure is the median time
of --repeat requests, in milliseconds, measured at the client on the same machine, so it
holds the server's whole work (routing, checks, query, JSON or HTML) plus one loopback
round trip. The worst filters are there on purpose: a principal nobody has (no row
matches, so the whole project is read) and a name prefix that matches nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import asyncpg  # noqa: E402
import betterproto2  # noqa: E402
import httpx  # noqa: E402
from services_bench import bulk_executions  # noqa: E402

from scripts.testenv import postgres  # noqa: E402
from wingspan.core.config import Settings  # noqa: E402
from wingspan.server.serve import ApiServer  # noqa: E402

LIST = "/api/v1/executions/default/development"
PAGE = "/console/projects/default/domains/development/executions"


async def timed(http: httpx.AsyncClient, path: str, params: dict[str, Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = await http.get(path, params=params)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text[:300]
    return round(statistics.median(times), 1)


async def measure(http: httpx.AsyncClient, repeat: int) -> dict[str, float]:
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    two_weeks_ago = (datetime.now(UTC) - timedelta(days=14)).isoformat()
    token = ""
    for _ in range(20):
        params = {"limit": 50, **({"token": token} if token else {})}
        token = (await http.get(LIST, params=params)).json()["nextToken"]
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "api_first_page": (LIST, {"limit": 50}),
        "api_page_21_by_token": (LIST, {"limit": 50, "token": token}),
        "api_phase_running": (LIST, {"limit": 50, "phase": "running"}),
        "api_phases_failed_or_timed_out": (LIST, {"limit": 50, "phase": ["failed", "timed_out"]}),
        "api_launch_plan": (LIST, {"limit": 50, "launch_plan": "plan3"}),
        "api_principal_of_every_row": (LIST, {"limit": 50, "principal": "bench"}),
        "api_principal_of_no_row": (LIST, {"limit": 50, "principal": "nobody"}),
        "api_name_prefix": (LIST, {"limit": 50, "name_prefix": "x0009"}),
        "api_name_prefix_of_no_row": (LIST, {"limit": 50, "name_prefix": "zzz"}),
        "api_created_in_a_week_window": (LIST, {"limit": 50, "created_after": two_weeks_ago,
                                                "created_before": week_ago}),
        "api_plan_phase_window": (LIST, {"limit": 50, "launch_plan": "plan3", "phase": "succeeded",
                                         "created_after": two_weeks_ago, "created_before": week_ago}),
        "api_sorted_by_name": (LIST, {"limit": 50, "sort_by": "name", "order": "asc"}),
        "console_page_first": (PAGE, {}),
        "console_page_filtered": (PAGE, {"phase": "failed", "launch_plan": "plan3"}),
        "console_dashboard": ("/console", {}),
    }
    return {name: await timed(http, path, params, repeat) for name, (path, params) in cases.items()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead of PostgreSQL")
    parser.add_argument("--uncached-type-hints", action="store_true",
                        help="resolve each message's type hints on every use, as betterproto2 does "
                             "(the figure before wingspan.protos.type_hints)")
    args = parser.parse_args()
    if args.uncached_type_hints:
        betterproto2.Message._type_hints = classmethod(  # type: ignore[method-assign,assignment]
            lambda cls: get_type_hints(cls, sys.modules[cls.__module__].__dict__, {}))
    with tempfile.TemporaryDirectory() as tmp:
        name, dsn = f"wingspan_bench_{uuid.uuid4().hex[:8]}", ""
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite"
        if not args.sqlite:
            env = postgres.ensure()
            dsn = env["WINGSPAN_TEST_PG_DSN"]
            conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
            url = env["WINGSPAN_TEST_PG_URL"].rsplit("/", 1)[0] + f"/{name}"
        settings = Settings(home=Path(tmp) / "home", db_url=url, http_port=0, grpc_port=0)
        results: dict[str, Any] = {"python": sys.version.split()[0], "executions": args.executions,
                                   "type_hints": "uncached" if args.uncached_type_hints else "cached",
                                   "load_before": [round(x, 1) for x in os.getloadavg()]}
        try:
            async with ApiServer(settings, grace=1, engine=False) as server:
                results["backend"] = server.admin.db.dialect
                start = time.perf_counter()
                await bulk_executions(server.admin, args.executions, plans=20)
                results["bulk_insert_s"] = round(time.perf_counter() - start, 1)
                async with httpx.AsyncClient(base_url=server.http_url, timeout=60) as http:
                    results["median_ms"] = await measure(http, args.repeat)
                results["load_after"] = [round(x, 1) for x in os.getloadavg()]
        finally:
            if dsn:
                conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await conn.close()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
