"""Our client of the Trino / PrestoDB HTTP protocol, async over httpx.

``POST /v1/statement`` with the SQL submits a query; each answer carries ``nextUri`` until the
query is done, with ``columns`` and pages of ``data`` on the way, and ``error`` when it
failed. ``DELETE nextUri`` cancels it. 502, 503 and 504 answers are retried after 50-100 ms
(the coordinator is busy or restarting its proxy), up to ``retry_seconds``. The session
(user, catalog, schema, session properties, prepared statements) travels in ``X-Trino-*``
headers, ``X-Presto-*`` for PrestoDB, and the coordinator changes it through
``X-Trino-Set-*`` / ``X-Trino-Clear-*`` answers (``SET SESSION``, ``USE``, ``PREPARE``),
which are applied to the session for the next statement.
"""

from __future__ import annotations

import random
import time
import urllib.parse
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

__all__ = ["FLAVOURS", "ClientSession", "QueryFailed", "StatementClient", "TransportError"]

#: header prefix of each flavour of the protocol
FLAVOURS = {"trino": "X-Trino-", "presto": "X-Presto-"}
_RETRIED = frozenset({502, 503, 504})


class QueryFailed(Exception):
    """The coordinator ran the query and it failed: its error name, type and message."""

    def __init__(self, query_id: str, error: Mapping[str, Any]) -> None:
        self.query_id = query_id
        self.name = str(error.get("errorName", "UNKNOWN"))
        self.type = str(error.get("errorType", ""))
        self.error_message = str(error.get("message", ""))
        super().__init__(f"query {query_id} failed: {self.name}: {self.error_message}")


class TransportError(Exception):
    """The coordinator could not be reached or answered what the protocol does not allow."""


@dataclass
class ClientSession:
    """What the client tells the coordinator with each request, changed by its answers."""

    flavour: str = "trino"
    user: str = "wingspan"
    source: str = "wingspan"
    catalog: str = ""
    schema: str = ""
    properties: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, str] = field(default_factory=dict)
    # HTTP basic (with ``user``) or a bearer JWT; at most one
    password: str = ""
    jwt: str = ""

    @property
    def prefix(self) -> str:
        return FLAVOURS[self.flavour]

    def headers(self) -> dict[str, str]:
        p = self.prefix
        headers = {f"{p}User": self.user, f"{p}Source": self.source}
        if self.catalog:
            headers[f"{p}Catalog"] = self.catalog
        if self.schema:
            headers[f"{p}Schema"] = self.schema
        if self.properties:
            headers[f"{p}Session"] = ",".join(f"{k}={urllib.parse.quote_plus(v)}"
                                              for k, v in self.properties.items())
        if self.prepared:
            headers[f"{p}Prepared-Statement"] = ",".join(f"{k}={urllib.parse.quote_plus(v)}"
                                                         for k, v in self.prepared.items())
        if self.jwt:
            headers["Authorization"] = f"Bearer {self.jwt}"
        return headers

    def auth(self) -> httpx.Auth | None:
        return httpx.BasicAuth(self.user, self.password) if self.password else None

    def apply(self, headers: httpx.Headers) -> None:
        """Takes the session changes of an answer (``SET SESSION``, ``USE``, ``PREPARE``...)."""
        p = self.prefix
        if f"{p}Set-Catalog" in headers:
            self.catalog = headers[f"{p}Set-Catalog"]
        if f"{p}Set-Schema" in headers:
            self.schema = headers[f"{p}Set-Schema"]
        for value in headers.get_list(f"{p}Set-Session", split_commas=True):
            name, _, text = value.strip().partition("=")
            self.properties[name] = urllib.parse.unquote_plus(text)
        for name in headers.get_list(f"{p}Clear-Session", split_commas=True):
            self.properties.pop(name.strip(), None)
        for value in headers.get_list(f"{p}Added-Prepare", split_commas=True):
            name, _, text = value.strip().partition("=")
            self.prepared[name] = urllib.parse.unquote_plus(text)
        for name in headers.get_list(f"{p}Deallocated-Prepare", split_commas=True):
            self.prepared.pop(urllib.parse.unquote_plus(name.strip()), None)


class StatementClient:
    """Runs statements on one coordinator in one session; ``next_uri`` is where the current
    query goes on (what ``cancel`` deletes)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, session: ClientSession, *,
                 retry_seconds: float = 30.0) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.retry_seconds = retry_seconds
        self.next_uri = ""
        self.query_id = ""

    async def submit(self, sql: str) -> dict[str, Any]:
        """Posts a statement; returns the first answer (the query is queued, not finished)."""
        answer = await self._request("POST", f"{self.base_url}/v1/statement", content=sql.encode())
        self.query_id = str(answer.get("id", ""))
        self.next_uri = str(answer.get("nextUri", ""))
        return answer

    async def pages(self, first: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Each answer from ``first`` on, following ``nextUri`` until the query is done;
        raises QueryFailed when the coordinator reports an error."""
        answer = first
        while True:
            if answer.get("error"):
                self.next_uri = ""
                raise QueryFailed(str(answer.get("id", self.query_id)), answer["error"])
            yield answer
            self.next_uri = str(answer.get("nextUri", ""))
            if not self.next_uri:
                return
            answer = await self._request("GET", self.next_uri)

    async def run(self, sql: str) -> tuple[list[dict[str, Any]], list[list[Any]]]:
        """A whole statement's columns and rows (for small results: session statements, tests)."""
        columns: list[dict[str, Any]] = []
        rows: list[list[Any]] = []
        async for page in self.pages(await self.submit(sql)):
            columns = page.get("columns") or columns
            rows.extend(page.get("data") or ())
        return columns, rows

    async def cancel(self, next_uri: str = "") -> None:
        """Cancels the query (``DELETE nextUri``); a query already done is left as it is."""
        uri = next_uri or self.next_uri
        if not uri:
            return
        response = await self.http.delete(uri, headers=self.session.headers(), auth=self.session.auth()
                                          or httpx.USE_CLIENT_DEFAULT)
        if response.status_code not in (200, 204, 404, 410):
            raise TransportError(f"cancelling {uri} answered {response.status_code}: {response.text[:200]}")
        self.next_uri = ""

    async def _request(self, method: str, url: str, content: bytes | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + self.retry_seconds
        while True:
            try:
                response = await self.http.request(
                    method, url, content=content, headers=self.session.headers(),
                    auth=self.session.auth() or httpx.USE_CLIENT_DEFAULT)
            except httpx.HTTPError as exc:
                raise TransportError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            if response.status_code in _RETRIED and time.monotonic() < deadline:
                await anyio.sleep(random.uniform(0.05, 0.1))
                continue
            if response.status_code != 200:
                raise TransportError(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
            self.session.apply(response.headers)
            answer: dict[str, Any] = response.json()
            return answer
