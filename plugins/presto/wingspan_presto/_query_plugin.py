"""``QueryPlugin``: runs TrinoTask and PrestoTask attempts inside the engine's process (no worker):
the query is submitted in ``start``, followed in ``watch`` while its pages stream into Parquet,
and cancelled on the coordinator (``DELETE nextUri``) by ``abort``."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from wingspan.core.types.naturals import to_natural
from wingspan.plugin import (
    ConfigError,
    ErrorKind,
    ExecutionError,
    Handle,
    TaskContext,
    TaskLog,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
)
from wingspan_presto._client import ClientSession, QueryFailed, StatementClient, TransportError
from wingspan_presto._config import PrestoConfig
from wingspan_presto._parameters import sql_literal
from wingspan_presto._results import FrameWriter, scalar_outputs, trino_column
from wingspan_presto._templating import render

__all__ = ["QueryPlugin"]

STATEMENT = "wingspan_query"
# error types of the protocol that another attempt may not meet
_TRANSIENT = frozenset({"INSUFFICIENT_RESOURCES", "EXTERNAL"})


@dataclass
class _Running:
    client: StatementClient
    first: dict[str, Any]


class QueryPlugin(TaskPlugin):
    name: ClassVar[str] = "presto"
    task_types: ClassVar[tuple[str, ...]] = ("trino", "presto")

    def __init__(self, config: PrestoConfig) -> None:
        self.config = config
        self._http: httpx.AsyncClient | None = None
        self._running: dict[str, _Running] = {}

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.config.request_timeout,
                                           verify=_tls_context(self.config.ca_file))
        return self._http

    def _session(self, flavour: str, spec: dict[str, Any]) -> ClientSession:
        if self.config.password and self.config.jwt:
            raise ConfigError("[plugins.presto]: set password or jwt, not both")
        return ClientSession(flavour=flavour, user=spec.get("user") or self.config.user,
                             catalog=spec.get("catalog", ""), schema=spec.get("schema", ""),
                             properties=dict(spec.get("session_properties") or {}),
                             password=self.config.password, jwt=self.config.jwt)

    def _url(self, flavour: str) -> str:
        url = self.config.trino_url if flavour == "trino" else self.config.presto_url
        if not url:
            raise ConfigError(f"a {flavour} task needs the coordinator's URL: set {flavour}_url in "
                              f"[plugins.presto] (or WINGSPAN_PLUGINS__PRESTO__{flavour.upper()}_URL)")
        return url

    async def start(self, ctx: TaskContext) -> Handle:
        flavour = ctx.template.type
        custom = ctx.template.custom.literals if ctx.template.custom is not None else {}
        spec = {key: to_natural(literal) for key, literal in custom.items()}
        inputs = {name: to_natural(literal) for name, literal in ctx.inputs.literals.items()}
        session = self._session(flavour, spec)
        bound = render(str(spec["query_template"]), lambda name, index: "?")
        sql = bound.sql
        if bound.names:  # the values go as parameters of the prepared statement, never into its text
            session.prepared[STATEMENT] = bound.sql
            sql = f"EXECUTE {STATEMENT} USING " + ", ".join(sql_literal(v) for v in bound.values(inputs))
        client = StatementClient(self._client(), self._url(flavour), session)
        first = await client.submit(sql)
        self._running[client.query_id] = _Running(client, first)
        return {"query_id": client.query_id, "next_uri": client.next_uri, "flavour": flavour,
                "info_uri": str(first.get("infoUri", ""))}

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        running = self._running.get(handle["query_id"])
        if running is None:
            return await self._lost(ctx, handle)
        logs = (TaskLog(f"{handle['flavour']} query {handle['query_id']}", handle.get("info_uri", "")),)
        try:
            outputs = await self._follow(ctx, running)
        except QueryFailed as exc:
            self._running.pop(handle["query_id"], None)
            return TaskStatus(TaskPhase.FAILED, logs=logs, error=ExecutionError(
                code=f"{handle['flavour'].upper()}:{exc.name}", message=(
                    f"{handle['flavour'].capitalize()} query {exc.query_id} failed with {exc.name} "
                    f"({exc.type}): {exc.error_message}"),
                kind=ErrorKind.USER if exc.type == "USER_ERROR" else ErrorKind.SYSTEM,
                retryable=exc.type in _TRANSIENT, node_id=ctx.node_id))
        except (TransportError, ValueError) as exc:
            self._running.pop(handle["query_id"], None)
            return TaskStatus(TaskPhase.FAILED, logs=logs, error=ExecutionError(
                code=f"{handle['flavour'].upper()}:{type(exc).__name__}", message=str(exc),
                kind=ErrorKind.SYSTEM if isinstance(exc, TransportError) else ErrorKind.USER,
                retryable=isinstance(exc, TransportError), node_id=ctx.node_id))
        # cancelled (the execution aborts): left for abort, which cancels it where it stands now
        self._running.pop(handle["query_id"], None)
        return TaskStatus(TaskPhase.SUCCEEDED, outputs=outputs, logs=logs)

    async def _follow(self, ctx: TaskContext, running: _Running) -> Any:
        from wingspan.core.model.literals import LiteralMap

        custom = ctx.template.custom.literals if ctx.template.custom is not None else {}
        kind = to_natural(custom["output_kind"])
        outputs = ctx.template.interface.outputs if ctx.template.interface is not None else ()
        where = f"{ctx.template.type} task {ctx.task_name!r}, query {running.client.query_id}"
        if kind != "frame":
            names: list[str] = []
            first_row = None
            async for page in running.client.pages(running.first):
                names = [c["name"] for c in page.get("columns") or ()] or names
                if first_row is None and page.get("data"):
                    first_row = page["data"][0]
            return LiteralMap({}) if kind == "none" else scalar_outputs(where, outputs, names, first_row)
        writer = FrameWriter(self.config.batch_rows)
        try:
            async for page in running.client.pages(running.first):
                if not writer.has_columns and page.get("columns"):
                    columns = page["columns"]
                    kinds = [trino_column(str(c["type"])) for c in columns]
                    writer.set_columns([c["name"] for c in columns], [k[0] for k in kinds],
                                       [k[1] for k in kinds])
                await writer.add(page.get("data") or ())
            (output,) = outputs
            return LiteralMap({output.name: await writer.finish(ctx.transfer, output)})
        except BaseException:
            writer.discard()
            raise

    async def _lost(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        """A query this process did not start (another replica did and stopped): its pages
        before now are gone with that process, so it is cancelled and the attempt retried."""
        await self.abort(ctx, handle)
        return TaskStatus(TaskPhase.FAILED, error=ExecutionError(
            code="QUERY_LOST", kind=ErrorKind.SYSTEM, retryable=True, node_id=ctx.node_id,
            message=f"{handle['flavour']} query {handle['query_id']} was followed by an engine that stopped; "
                    "it was cancelled on the coordinator and the attempt is tried again"))

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        if handle["query_id"] in self._running:
            return TaskStatus(TaskPhase.RUNNING)
        return await self._lost(ctx, handle)

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        running = self._running.pop(handle["query_id"], None)
        if running is not None:
            await running.client.cancel()
            return
        session = self._session(handle["flavour"], {})
        await StatementClient(self._client(), "", session).cancel(handle.get("next_uri", ""))

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _tls_context(ca_file: str) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_file) if ca_file else True
