"""End to end: TrinoTask and SQLTask workflows registered with a real `wingspan serve`, whose
engine runs them through wingspan-presto in its own process (no worker), against the test
Trino server (catalogs tpch, memory, and postgresql on the test PostgreSQL) and against
PostgreSQL, SQLite and DuckDB. What happened on Trino is read from its own query list
(``/v1/query``). One server for the module: it takes seconds to start, Trino a minute."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import duckdb
import httpx
import pytest

from scripts.testenv import postgres, trino
from tests.real.conftest import _ensure
from tests.unit.api.served import ServeProcess
from wingspan._remote.sync import Remote

pytestmark = [pytest.mark.real, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
BACKENDS = ("pg", "lite", "duck")
FLOWS = '''
from wingspan import DataFrame, kwtypes, task, workflow
from wingspan_presto import SQLTask, TrinoTask

nations = TrinoTask(
    "nations", "SELECT nationkey, name FROM tpch.tiny.nation WHERE regionkey = {{ .inputs.region }} "
    "ORDER BY nationkey", inputs=kwtypes(region=int), output=DataFrame)


@task
def names(frame: DataFrame) -> list[str]:
    return [str(name) for name in frame.to_pandas()["name"]]


@workflow
def nation_names(region: int) -> list[str]:
    return names(frame=nations(region=region))


vip_join = TrinoTask(
    "vip_join", "SELECT c.name, v.note FROM tpch.tiny.customer c JOIN postgresql.shop.vip v "
    "ON c.custkey = v.custkey ORDER BY c.custkey", output=DataFrame)


@task
def pairs(frame: DataFrame) -> list[str]:
    table = frame.to_pandas()
    return [f"{name}:{note}" for name, note in zip(table["name"], table["note"])]


@workflow
def vips() -> list[str]:
    return pairs(frame=vip_join())


echo = TrinoTask("echo", "SELECT {{ .inputs.text }} AS text, length({{ .inputs.text }}) AS n",
                 inputs=kwtypes(text=str), output=kwtypes(text=str, n=int))
slow = TrinoTask("slow", "SELECT count(*) AS n FROM tpch.sf1000.lineitem "
                 "WHERE comment LIKE {{ .inputs.marker }}", inputs=kwtypes(marker=str), output=kwtypes(n=int))
missing = TrinoTask("missing", "SELECT * FROM memory.default.no_such_table", output=DataFrame)
cached = TrinoTask("cached", "SELECT {{ .inputs.marker }} AS marker", inputs=kwtypes(marker=str),
                   output=kwtypes(marker=str), cache=True, cache_version="1")
'''
NOTES = '''
add_{conn} = SQLTask("add_{conn}", "INSERT INTO notes (body) VALUES ({{{{ .inputs.body }}}}) RETURNING body",
                     connection="{conn}", inputs=kwtypes(body=str), output=kwtypes(body=str))
read_{conn} = SQLTask("read_{conn}", "SELECT body, length(body) AS size FROM notes "
                      "WHERE body = {{{{ .inputs.body }}}}", connection="{conn}", inputs=kwtypes(body=str),
                      output=DataFrame)


@task
def rows_{conn}(frame: DataFrame) -> list[str]:
    return [f"{{body}}|{{size}}" for body, size in zip(frame.to_pandas()["body"], frame.to_pandas()["size"])]


@workflow
def notes_{conn}(body: str) -> list[str]:
    return rows_{conn}(frame=read_{conn}(body=add_{conn}(body=body)))
'''
SLEEPER = '''
pg_sleep = SQLTask("pg_sleep", "SELECT pg_sleep({{ .inputs.seconds }}) IS NULL AS slept", connection="pg",
                   inputs=kwtypes(seconds=float), output=kwtypes(slept=bool))
'''
HOSTILE = "'; DROP TABLE notes; --"


class TrinoServer:
    """The test Trino server's own view of the queries it ran."""

    def __init__(self, url: str) -> None:
        self.url = url

    def queries(self, containing: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/v1/query", headers={"X-Trino-User": "wingspan-test"}, timeout=10)
        answer.raise_for_status()
        return [q for q in answer.json() if containing in q.get("query", "")]

    def kill(self, containing: str) -> None:
        """Ends the queries a failed test left running (a cancelled one is gone already)."""
        for query in self.queries(containing):
            if query["state"] not in ("FINISHED", "FAILED"):
                httpx.delete(f"{self.url}/v1/query/{query['queryId']}",
                             headers={"X-Trino-User": "wingspan-test"}, timeout=10)

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"Trino: {what} not seen within {timeout:.0f} s")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def trino_server() -> TrinoServer:
    return TrinoServer(_ensure("trino", trino.ensure)["WINGSPAN_TEST_TRINO_URL"])


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database, a SQLite file and a DuckDB file, each with a table ``notes``."""
    env = _ensure("postgres", postgres.ensure)
    folder = tmp_path_factory.mktemp("databases")
    pg_name = f"presto_{uuid.uuid4().hex[:10]}"
    dsn = env["WINGSPAN_TEST_PG_DSN"]

    async def pg(sql: str, database: str) -> None:
        conn = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/" + database)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    import asyncio

    asyncio.run(pg(f'CREATE DATABASE "{pg_name}"', "postgres"))
    asyncio.run(pg("CREATE TABLE notes (body text NOT NULL)", pg_name))
    lite = folder / "notes.sqlite"
    with sqlite3.connect(lite) as conn:
        conn.execute("CREATE TABLE notes (body text NOT NULL)")
    duck = folder / "notes.duckdb"
    with duckdb.connect(str(duck)) as duck_conn:
        duck_conn.execute("CREATE TABLE notes (body VARCHAR NOT NULL)")
    pg_url = env["WINGSPAN_TEST_PG_URL"].rsplit("/", 1)[0] + "/" + pg_name
    yield {"pg": pg_url, "lite": f"sqlite+aiosqlite:///{lite}", "duck": f"duckdb:///{duck}",
           "pg_dsn": dsn.rsplit("/", 1)[0] + "/" + pg_name}
    asyncio.run(pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', "postgres"))


@pytest.fixture(scope="module")
def server(trino_server: TrinoServer, databases: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    folder = tmp_path_factory.mktemp("served")
    flows = folder / "sqlflows.py"
    flows.write_text(FLOWS + "".join(NOTES.format(conn=conn) for conn in BACKENDS) + SLEEPER)
    served = ServeProcess(env={"WINGSPAN_HOME": str(folder / "home"),
                               "WINGSPAN_PLUGINS__PRESTO__TRINO_URL": trino_server.url,
                               "WINGSPAN_PLUGINS__PRESTO__CONNECTIONS": json.dumps(
                                   {k: v for k, v in databases.items() if k in BACKENDS})})
    try:
        with Remote(served.endpoint) as client:
            client.register(flows)
            client.register(ROOT / "examples" / "trino_report.py")
            yield client
    except BaseException:
        print("".join(served.lines), file=sys.stderr)
        raise
    finally:
        served.stop()


def test_a_trino_query_gives_its_rows_as_a_data_frame_to_the_next_task(server: Remote) -> None:
    done = server.execute("sqlflows.nation_names", {"region": 1}).wait(timeout=180)
    assert done.outputs == {"o0": ["ARGENTINA", "BRAZIL", "CANADA", "PERU", "UNITED STATES"]}


def test_a_query_joins_tpch_and_postgresql(server: Remote) -> None:
    done = server.execute("sqlflows.vips", {}).wait(timeout=180)
    assert done.outputs == {"o0": ["Customer#000000001:first", "Customer#000000002:second",
                                   "Customer#000000003:third"]}


def test_an_input_holding_sql_is_data_on_trino(server: Remote) -> None:
    done = server.execute("echo", {"text": HOSTILE}).wait(timeout=180)
    assert done.outputs == {"text": HOSTILE, "n": len(HOSTILE)}


def test_abort_cancels_the_running_query_on_trino(server: Remote, trino_server: TrinoServer) -> None:
    marker = f"%wingspan-abort-{uuid.uuid4().hex}%"
    run = server.execute("slow", {"marker": marker})
    try:
        trino_server.wait_for("the query running", lambda: any(
            q["state"] == "RUNNING" for q in trino_server.queries(marker)))
        server.terminate(run, "the test aborts it")
        assert run.wait(timeout=60).phase.name == "ABORTED"
        trino_server.wait_for("the query cancelled", lambda: all(
            q["state"] == "FAILED" and q.get("errorCode", {}).get("name") == "USER_CANCELED"
            for q in trino_server.queries(marker)), timeout=30)
    finally:  # a query over tpch.sf1000 left running would hold the shared machine's cores
        trino_server.kill(marker)


def test_a_failing_query_reports_trinos_error_name_and_message(server: Remote) -> None:
    failed = server.execute("missing", {}).wait(timeout=180)
    assert failed.phase.name == "FAILED"
    assert "TABLE_NOT_FOUND" in failed.error
    assert "memory.default.no_such_table" in failed.error and "does not exist" in failed.error


def test_a_cached_query_is_not_sent_twice(server: Remote, trino_server: TrinoServer) -> None:
    marker = f"wingspan-cache-{uuid.uuid4().hex}"
    first = server.execute("cached", {"marker": marker}).wait(timeout=180)
    second = server.execute("cached", {"marker": marker}).wait(timeout=180)
    assert first.outputs == second.outputs == {"marker": marker}
    assert len(trino_server.queries(marker)) == 1


@pytest.mark.parametrize("conn", BACKENDS)
def test_sql_tasks_bind_their_inputs_as_data(server: Remote, databases: dict[str, str], conn: str) -> None:
    done = server.execute(f"sqlflows.notes_{conn}", {"body": HOSTILE}).wait(timeout=180)
    assert done.outputs == {"o0": [f"{HOSTILE}|{len(HOSTILE)}"]}
    # the table is still there, holding the text as it was given
    again = server.execute(f"sqlflows.notes_{conn}", {"body": "second"}).wait(timeout=180)
    assert again.outputs == {"o0": [f"second|{len('second')}"]}


def test_the_trino_example_runs_on_the_server(server: Remote) -> None:
    done = server.execute("trino_report.region_report", {"region": 1}).wait(timeout=180)
    assert done.outputs == {
        "o0": "AMERICA\nARGENTINA: 59\nBRAZIL: 68\nCANADA: 69\nPERU: 56\nUNITED STATES: 48"}
    done = server.execute("trino_report.vip_report", {}).wait(timeout=180)
    assert done.outputs == {"o0": ["Customer#000000001 (first)", "Customer#000000002 (second)",
                                   "Customer#000000003 (third)"]}


def test_abort_cancels_a_running_sql_query(server: Remote, databases: dict[str, str]) -> None:
    async def sleeping() -> int:
        conn = await asyncpg.connect(databases["pg_dsn"])
        try:
            found = await conn.fetchval("SELECT count(*) FROM pg_stat_activity "
                                        "WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(%'")
            return int(found)
        finally:
            await conn.close()

    def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL: {what} not seen within {timeout:.0f} s")
            time.sleep(0.2)

    import asyncio

    run = server.execute("pg_sleep", {"seconds": 600.0})
    wait_for("the query running", lambda: asyncio.run(sleeping()) == 1)
    server.terminate(run, "the test aborts it")
    assert run.wait(timeout=60).phase.name == "ABORTED"
    wait_for("the query cancelled", lambda: asyncio.run(sleeping()) == 0, timeout=30)
