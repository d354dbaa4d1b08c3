"""``SQLPlugin``: runs SQLTask attempts inside the engine's process through SQLAlchemy.

The database is one of the configured ``connections`` (so no task carries a password). Async
drivers (``postgresql+asyncpg``, ``sqlite+aiosqlite``) run on the engine's loop; others (DuckDB
through ``duckdb-engine``) in a worker thread. Inputs are bound parameters (``:p0``...);
results stream (``stream_results``) into the same Parquet writer as Trino's, a row group at
a time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.to_thread

from wingspan.core.model.literals import LiteralMap
from wingspan.core.types.naturals import to_natural
from wingspan.plugin import (
    ConfigError,
    ErrorKind,
    ExecutionError,
    Handle,
    TaskContext,
    TaskPhase,
    TaskPlugin,
    TaskStatus,
)
from wingspan_presto._config import PrestoConfig
from wingspan_presto._results import FrameWriter, scalar_outputs
from wingspan_presto._templating import render

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SQLPlugin"]


class SQLPlugin(TaskPlugin):
    name: ClassVar[str] = "sql"
    task_types: ClassVar[tuple[str, ...]] = ("sql",)

    def __init__(self, config: PrestoConfig) -> None:
        self.config = config
        self._engines: dict[str, AsyncEngine | Engine] = {}
        self._runs: dict[str, anyio.Event] = {}
        self._results: dict[str, TaskStatus] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # how to stop each run's statement on the database: cancelling our side alone leaves it
        # running there (SQLAlchemy over asyncpg does not pass a task's cancellation on)
        self._stoppers: dict[str, Callable[[], Awaitable[None]]] = {}

    def _engine(self, connection: str) -> AsyncEngine | Engine:
        if connection not in self._engines:
            url = self.config.connections.get(connection)
            if not url:
                raise ConfigError(f"no SQL connection named {connection!r}; the configured ones: "
                                  f"{', '.join(sorted(self.config.connections)) or 'none'} "
                                  "(set [plugins.presto] connections = {NAME = 'sqlalchemy URL'})")
            from sqlalchemy import create_engine
            from sqlalchemy.engine import make_url
            from sqlalchemy.ext.asyncio import create_async_engine

            parsed = make_url(url)
            if parsed.get_dialect().is_async:
                self._engines[connection] = create_async_engine(parsed)
            else:
                self._engines[connection] = create_engine(parsed)
        return self._engines[connection]

    async def start(self, ctx: TaskContext) -> Handle:
        custom = ctx.template.custom.literals if ctx.template.custom is not None else {}
        spec = {key: to_natural(literal) for key, literal in custom.items()}
        engine = self._engine(str(spec["connection"]))
        run_id = uuid.uuid4().hex
        self._runs[run_id] = anyio.Event()
        # the engine's task group is not ours: the run is a task of the loop, followed by watch
        # (kept referenced: the loop holds its tasks weakly)
        self._tasks[run_id] = asyncio.get_running_loop().create_task(self._run(run_id, ctx, spec, engine))
        return {"run": run_id}

    async def _run(self, run_id: str, ctx: TaskContext, spec: dict[str, Any], engine: Any) -> None:
        where = f"sql task {ctx.task_name!r}"
        done = self._runs[run_id]  # abort may take it from the table before the run ends
        try:
            with anyio.CancelScope() as scope:
                self._scopes[run_id] = scope
                outputs = await self._query(run_id, ctx, spec, engine)
                self._results[run_id] = TaskStatus(TaskPhase.SUCCEEDED, outputs=outputs)
            if scope.cancelled_caught:
                self._results[run_id] = TaskStatus(TaskPhase.ABORTED, reason="aborted")
        except Exception as exc:
            self._results[run_id] = TaskStatus(TaskPhase.FAILED, error=ExecutionError(
                code=f"SQL:{type(exc).__name__}", message=f"{where}: {type(exc).__name__}: {exc}",
                kind=ErrorKind.USER, retryable=False, node_id=ctx.node_id))
        finally:
            self._scopes.pop(run_id, None)
            self._tasks.pop(run_id, None)
            self._stoppers.pop(run_id, None)
            done.set()

    async def _query(self, run_id: str, ctx: TaskContext, spec: dict[str, Any], engine: Any) -> LiteralMap:
        from sqlalchemy import text

        bound = render(str(spec["query_template"]), lambda name, index: f":p{index}")
        inputs = {name: to_natural(literal) for name, literal in ctx.inputs.literals.items()}
        params = {f"p{i}": value for i, value in enumerate(bound.values(inputs))}
        statement = text(bound.sql)
        kind = spec["output_kind"]
        outputs = ctx.template.interface.outputs if ctx.template.interface is not None else ()
        writer = FrameWriter(self.config.batch_rows) if kind == "frame" else None
        first: list[Any] = []
        names: list[str] = []
        batch = self.config.batch_rows

        async def take(keys: Sequence[str], rows: list[Sequence[Any]]) -> None:
            names[:] = list(keys)
            if writer is None:
                if rows and not first:
                    first.append(rows[0])
                return
            if not writer.has_columns and rows:
                writer.set_columns(list(keys), _arrow_types(rows, len(keys)))
            await writer.add(rows)

        try:
            if hasattr(engine, "sync_engine"):  # an async driver: on this loop
                async with engine.begin() as conn:
                    if engine.dialect.name == "postgresql":
                        backend = await conn.scalar(text("SELECT pg_backend_pid()"))
                        self._stoppers[run_id] = lambda: _pg_cancel(engine, backend)
                    if kind == "none":
                        await conn.execute(statement, params)
                    else:
                        result = await conn.stream(statement, params)
                        names[:] = list(result.keys())
                        async for part in result.partitions(batch):
                            await take(names, [tuple(r) for r in part])
            else:
                await _sync_query(engine, statement, params, batch, kind != "none", take,
                                  lambda stop: self._stoppers.__setitem__(run_id, stop))
            if writer is not None:
                if not writer.has_columns:  # no rows: the columns, typed as text
                    writer.set_columns(names, [_text_type() for _ in names])
                (output,) = outputs
                return LiteralMap({output.name: await writer.finish(ctx.transfer, output)})
        except BaseException:
            if writer is not None:
                writer.discard()
            raise
        if kind == "none":
            return LiteralMap({})
        return scalar_outputs(f"sql task {ctx.task_name!r}", outputs, names, first[0] if first else None)

    async def watch(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        done = self._runs.get(handle["run"])
        if done is None:
            return self._lost(ctx, handle)
        await done.wait()
        self._runs.pop(handle["run"], None)
        return self._results.pop(handle["run"])

    def _lost(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        return TaskStatus(TaskPhase.FAILED, error=ExecutionError(
            code="SQL_LOST", kind=ErrorKind.SYSTEM, retryable=True, node_id=ctx.node_id,
            message="the SQL task ran in an engine that stopped; the attempt is tried again"))

    async def poll(self, ctx: TaskContext, handle: Handle) -> TaskStatus:
        done = self._runs.get(handle["run"])
        if done is None:
            return self._lost(ctx, handle)
        if not done.is_set():
            return TaskStatus(TaskPhase.RUNNING)
        self._runs.pop(handle["run"], None)
        return self._results.pop(handle["run"])

    async def abort(self, ctx: TaskContext, handle: Handle) -> None:
        stop = self._stoppers.pop(handle["run"], None)
        if stop is not None:
            with anyio.move_on_after(30):
                await stop()
        scope = self._scopes.get(handle["run"])
        if scope is not None:
            scope.cancel()
        done = self._runs.pop(handle["run"], None)
        if done is not None:
            with anyio.move_on_after(30):
                await done.wait()
        self._results.pop(handle["run"], None)

    async def aclose(self) -> None:
        from sqlalchemy.ext.asyncio import AsyncEngine

        for engine in self._engines.values():
            if isinstance(engine, AsyncEngine):
                await engine.dispose()
            else:
                engine.dispose()
        self._engines.clear()


def _text_type() -> pa.DataType:
    import pyarrow as pa

    return pa.string()


def _arrow_types(rows: list[Sequence[Any]], width: int) -> list[pa.DataType]:
    """Each column's type as Arrow reads the first batch (a column of only NULLs: text)."""
    import pyarrow as pa

    types = []
    for i in range(width):
        inferred = pa.array([row[i] for row in rows]).type
        types.append(pa.string() if pa.types.is_null(inferred) else inferred)
    return types


async def _pg_cancel(engine: Any, backend: int) -> None:
    from sqlalchemy import text

    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": backend})


async def _sync_query(engine: Any, statement: Any, params: dict[str, Any], batch: int, rows: bool,
                      take: Any, on_start: Callable[[Callable[[], Awaitable[None]]], None]) -> None:
    """A synchronous driver's query in a worker thread, each partition handed back to the loop;
    ``on_start`` receives how to interrupt it (SQLite's and DuckDB's ``interrupt()``)."""
    from anyio.from_thread import run as on_loop

    def work() -> None:
        with engine.begin() as conn:
            raw = conn.connection.dbapi_connection
            interrupt = getattr(getattr(raw, "driver_connection", raw), "interrupt", None)
            if interrupt is not None:
                async def stop() -> None:
                    interrupt()

                on_start(stop)
            result = conn.execution_options(stream_results=True).execute(statement, params)
            if not rows:
                return
            keys = list(result.keys())
            on_loop(take, keys, [])
            for part in result.partitions(batch):
                on_loop(take, keys, [tuple(r) for r in part])

    await anyio.to_thread.run_sync(work)
