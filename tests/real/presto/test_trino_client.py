"""Our Trino client against the test Trino server: session changes the coordinator answers with
(X-Trino-Set-* / Clear-*) carry to the next statement; 502/503/504 are retried; the
credentials go as HTTP basic or a bearer JWT; results stream into Parquet a row group at a time.

The retry and credential tests put a small loopback proxy in front of the real server: it
answers 503 to the first requests it is told to, records the headers it receives, and
forwards the rest to Trino without the credentials (the test Trino speaks plain HTTP, where
Trino refuses credentials), so what is pinned is what our client sends."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyarrow.parquet as pq
import pytest
from wingspan_presto import PrestoConfig, QueryPlugin
from wingspan_presto._client import ClientSession, StatementClient, TransportError

from scripts.testenv import trino
from tests.real.conftest import _ensure
from wingspan.core.model.interface import TypedInterface, Variable
from wingspan.core.model.literals import LiteralMap
from wingspan.core.model.tasks import TaskTemplate
from wingspan.core.storage.local import LocalBlobStore
from wingspan.core.types import default_engine
from wingspan.core.types.frames import DataFrame
from wingspan.core.types.purity import to_literal_now
from wingspan.plugin import TaskContext, TaskPhase, TransferContext

pytestmark = [pytest.mark.real]


@pytest.fixture(scope="module")
def trino_url() -> str:
    return _ensure("trino", trino.ensure)["WINGSPAN_TEST_TRINO_URL"]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_session_changes_carry_to_the_next_statement(trino_url: str, http: httpx.AsyncClient) -> None:
    client = StatementClient(http, trino_url, ClientSession(user="wingspan-test"))
    await client.run("USE tpch.tiny")
    await client.run("SET SESSION query_max_run_time = '7m'")
    assert (client.session.catalog, client.session.schema) == ("tpch", "tiny")
    _, rows = await client.run("SELECT count(*) FROM nation")  # no catalog in the text
    assert rows == [[25]]
    _, rows = await client.run("SHOW SESSION LIKE 'query_max_run_time'")
    assert rows[0][1] == "7m"
    await client.run("RESET SESSION query_max_run_time")
    assert "query_max_run_time" not in client.session.properties
    await client.run("PREPARE twice FROM SELECT ? * 2")
    _, rows = await client.run("EXECUTE twice USING 21")
    assert rows == [[42]]
    await client.run("DEALLOCATE PREPARE twice")
    assert client.session.prepared == {}


@dataclass
class Proxy:
    """Loopback HTTP in front of Trino: ``refuse`` 503s first, then forwards; records headers."""

    target: str
    refuse: int = 0
    seen: list[dict[str, str]] = field(default_factory=list)
    refused: int = 0
    url: str = ""


@pytest.fixture
def proxy(trino_url: str) -> Iterator[Proxy]:
    state = Proxy(trino_url)

    class Handler(BaseHTTPRequestHandler):
        def _forward(self, method: str) -> None:
            state.seen.append(dict(self.headers.items()))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if state.refused < state.refuse:
                state.refused += 1
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
            answer = httpx.request(method, state.target + self.path, content=body, headers=headers,
                                   timeout=30)
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                       "content-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        def do_POST(self) -> None:
            self._forward("POST")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(10)


async def test_503_answers_are_retried(proxy: Proxy, http: httpx.AsyncClient) -> None:
    proxy.refuse = 2
    client = StatementClient(http, proxy.url, ClientSession(user="wingspan-test"))
    _, rows = await client.run("SELECT 1")
    assert rows == [[1]]
    assert proxy.refused == 2 and len(proxy.seen) == 3


@pytest.mark.parametrize("session, expected", [
    (ClientSession(user="ada", password="s3cret"), "Basic YWRhOnMzY3JldA=="),
    (ClientSession(user="ada", jwt="header.payload.signature"), "Bearer header.payload.signature"),
    (ClientSession(flavour="presto", user="ada"), None),
])
async def test_credentials_and_the_flavours_headers_are_sent(
        proxy: Proxy, http: httpx.AsyncClient, session: ClientSession, expected: str | None) -> None:
    client = StatementClient(http, proxy.url, session)
    if session.flavour == "presto":  # the Trino behind the proxy does not speak it: the headers only
        with pytest.raises(Exception):  # noqa: B017 - Trino refuses a request naming no X-Trino-User
            await client.submit("SELECT 1")
        assert proxy.seen[0]["X-Presto-User"] == "ada" and "X-Trino-User" not in proxy.seen[0]
        return
    await client.run("SELECT 1")
    assert proxy.seen[0].get("Authorization") == expected
    assert proxy.seen[0]["X-Trino-User"] == "ada"


QUERY = "SELECT custkey, name, acctbal FROM tpch.tiny.customer"


async def test_results_stream_into_parquet_a_row_group_at_a_time(trino_url: str, tmp_path: Path) -> None:
    plugin = QueryPlugin(PrestoConfig(trino_url=trino_url, batch_rows=100))
    frame_type = default_engine().literal_type(DataFrame)
    template = TaskTemplate(
        type="trino", interface=TypedInterface((), (Variable("results", frame_type),)),
        custom=LiteralMap({"query_template": to_literal_now(QUERY, str, "q"),
                           "output_kind": to_literal_now("frame", str, "k")}))
    store = LocalBlobStore(tmp_path / "store")
    ctx = TaskContext(template, LiteralMap({}), "e1", "n0", 0,
                      transfer=TransferContext(store, f"{store.root}/data/e1/n0/0"))
    try:
        status = await plugin.watch(ctx, await plugin.start(ctx))
    finally:
        await plugin.aclose()
    assert status.phase == TaskPhase.SUCCEEDED, status.error
    assert status.outputs is not None
    uri = status.outputs.literals["results"].value.uri
    local = tmp_path / "results.parquet"
    await store.download_file(uri, local)
    parquet = pq.ParquetFile(local)
    assert parquet.metadata.num_rows == 1500
    assert parquet.metadata.num_row_groups == 15  # 100 rows at a time, never all of them
    assert [f.name for f in parquet.schema_arrow] == ["custkey", "name", "acctbal"]


async def test_a_query_another_engine_started_is_cancelled_and_retried(trino_url: str) -> None:
    # as after a crash: the engine that started the query is gone, another one resumes the attempt
    marker = f"wingspan-lost-{uuid.uuid4().hex}"
    template = TaskTemplate(
        type="trino", interface=TypedInterface((), (Variable("n", default_engine().literal_type(int)),)),
        custom=LiteralMap({"query_template": to_literal_now(
            f"SELECT count(*) AS n FROM tpch.sf1000.lineitem WHERE comment LIKE '%{marker}%'", str, "q"),
            "output_kind": to_literal_now("scalars", str, "k")}))
    ctx = TaskContext(template, LiteralMap({}), "e1", "n0", 0)
    starter, resumer = (QueryPlugin(PrestoConfig(trino_url=trino_url)) for _ in range(2))
    try:
        handle = await starter.start(ctx)
        running = starter._running[handle["query_id"]]
        async for page in running.client.pages(running.first):  # followed until it runs, then "crashes"
            if page["stats"]["state"] == "RUNNING":
                break
        status = await resumer.watch(ctx, handle)
    finally:
        await starter.aclose()
        await resumer.aclose()
    assert status.phase == TaskPhase.FAILED and status.error is not None
    assert (status.error.code, status.error.retryable) == ("QUERY_LOST", True)
    mine: list[dict[str, Any]] = []
    async with httpx.AsyncClient(timeout=10, headers={"X-Trino-User": "wingspan-test"}) as http:
        try:
            for _ in range(100):
                mine = [q for q in (await http.get(f"{trino_url}/v1/query")).json() if marker in q["query"]]
                if mine and all(q.get("errorCode", {}).get("name") == "USER_CANCELED" for q in mine):
                    break
                await anyio.sleep(0.2)
            else:
                raise AssertionError(f"the lost query was not cancelled on Trino: {mine}")
        finally:  # a query over tpch.sf1000 left running would hold the shared machine's cores
            for query in mine:
                if query["state"] not in ("FINISHED", "FAILED"):
                    await http.delete(f"{trino_url}/v1/query/{query['queryId']}")


@pytest.fixture(scope="module")
def trino_logins() -> dict[str, str]:
    """HTTPS on the test Trino, where it checks a password (file) or a JWT (HMAC-signed)."""
    return _ensure("trino", trino.ensure)


def _jwt(key: str, subject: str) -> str:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    claims = {"sub": subject, "exp": int(time.time()) + 600}
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(key))


@pytest.mark.parametrize("login", ["password", "jwt", "wrong password"])
async def test_trino_takes_our_logins_over_https(trino_logins: dict[str, str], login: str) -> None:
    user = trino_logins["WINGSPAN_TEST_TRINO_LOGIN_USER"]
    password = trino_logins["WINGSPAN_TEST_TRINO_LOGIN_PASSWORD"]
    config = PrestoConfig(
        trino_url=trino_logins["WINGSPAN_TEST_TRINO_HTTPS_URL"], user=user,
        ca_file=trino_logins["WINGSPAN_TEST_TRINO_CA_FILE"],
        password={"password": password, "wrong password": password + "-not"}.get(login, ""),
        jwt=_jwt(trino_logins["WINGSPAN_TEST_TRINO_JWT_KEY"], user) if login == "jwt" else "")
    plugin = QueryPlugin(config)  # the plugin's own client and session, as a task's query gets them
    try:
        client = StatementClient(plugin._client(), plugin._url("trino"), plugin._session("trino", {}))
        if login == "wrong password":
            with pytest.raises(TransportError, match="answered 401"):
                await client.run("SELECT current_user")
            return
        _, rows = await client.run("SELECT current_user")
    finally:
        await plugin.aclose()
    assert rows == [[user]]
