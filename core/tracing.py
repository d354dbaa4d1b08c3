"""Where the engine and its plugins mark trace spans and log fields, with no tracing library.

Core names the spans of its work (an execution's run, a node, an attempt) through :func:`span`
and reads the current span's W3C ``traceparent`` through :func:`traceparent`, to hand it to
another process (a worker, a pod). Until a process installs a :class:`Tracer` (the server does
when OpenTelemetry is configured: :mod:`wingspan.server.tracing`), :func:`span` returns one
shared do-nothing context manager: one global read per call, so local runs and a server with
tracing off pay nothing that shows.

:func:`log_fields` keeps the execution, node and attempt of the work in progress in a context
variable, so that every log record written during it can carry them (the server's JSON log
format reads :func:`current_log_fields`); it costs one context variable set and reset.
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import Literal, Protocol

__all__ = [
    "Attributes",
    "SpanKind",
    "Tracer",
    "child_traceparent",
    "current_log_fields",
    "install",
    "installed",
    "keep_log_fields",
    "keeps_log_fields",
    "log_fields",
    "record_span",
    "span",
    "traceparent",
]

SpanKind = Literal["internal", "server", "client"]
Attributes = Mapping[str, str | int | float | bool]


class Tracer(Protocol):
    """What a tracing library offers core (the server's OpenTelemetry wiring implements it)."""

    def span(self, name: str, attributes: Attributes, parent: str | None, kind: SpanKind
             ) -> AbstractContextManager[None]:
        """A span made current while open: a child of ``parent`` (a W3C traceparent) when
        given, else of the current span; an exception leaving it marks it failed."""

    def traceparent(self) -> str | None:
        """The W3C traceparent of the current span, or None outside any."""

    def trace_ids(self) -> tuple[str, str] | None:
        """The current span's trace id and span id (hex), or None outside any."""

    def record(self, name: str, traceparent: str, parent: str, start_ns: int, end_ns: int,
               attributes: Attributes, failed: bool) -> None:
        """A span that ran in another process, which could not export it: its own
        ``traceparent`` (its trace and span ids), its parent's, and its times (ns since the epoch)."""


_NOTHING: AbstractContextManager[None] = contextlib.nullcontext()
_tracer: Tracer | None = None


def install(tracer: Tracer | None) -> None:
    """Makes ``tracer`` receive this process's spans (None: tracing off again)."""
    global _tracer
    _tracer = tracer


def installed() -> Tracer | None:
    return _tracer


def span(name: str, attributes: Attributes | None = None, *, parent: str | None = None,
         kind: SpanKind = "internal") -> AbstractContextManager[None]:
    """A span around a block of work (nothing when no tracer is installed)."""
    tracer = _tracer
    if tracer is None:
        return _NOTHING
    return tracer.span(name, attributes or {}, parent or None, kind)


def traceparent() -> str | None:
    """The current span's W3C traceparent, to hand to another process (None when tracing is off)."""
    tracer = _tracer
    return tracer.traceparent() if tracer is not None else None


def record_span(name: str, own: str, parent: str, start_ns: int, end_ns: int,
                attributes: Attributes | None = None, *, failed: bool = False) -> None:
    """Records a span another process ran (a task body in a worker) under its ``own`` traceparent."""
    tracer = _tracer
    if tracer is not None:
        tracer.record(name, own, parent, start_ns, end_ns, attributes or {}, failed)


def child_traceparent(parent: str) -> str:
    """A traceparent in ``parent``'s trace with a new span id: what a process that exports
    nothing itself gives the span it runs, so that what it calls (and what it reports back)
    nests under that span. ``parent`` is ``00-<trace id>-<span id>-<flags>``."""
    version, trace_id, _, flags = parent.split("-")
    return f"{version}-{trace_id}-{secrets.token_hex(8)}-{flags}"


# ---- log fields --------------------------------------------------------------------------------

_fields: contextvars.ContextVar[Mapping[str, str | int]] = contextvars.ContextVar(
    "wingspan_log_fields", default=MappingProxyType({}))
_keep_fields = False


def keep_log_fields(keep: bool = True) -> None:
    """Makes :func:`log_fields` keep its fields (the server does, for its log records)."""
    global _keep_fields
    _keep_fields = keep


def keeps_log_fields() -> bool:
    return _keep_fields


def current_log_fields() -> Mapping[str, str | int]:
    """The execution, node and attempt of the work in progress (those known)."""
    return _fields.get()


def log_fields(**fields: str | int) -> AbstractContextManager[None]:
    """Adds ``fields`` to the log fields of the block and of the tasks it starts (nothing unless
    :func:`keep_log_fields` was called)."""
    return _Fields(fields) if _keep_fields else _NOTHING


class _Fields:
    __slots__ = ("fields", "token")

    def __init__(self, fields: Mapping[str, str | int]) -> None:
        self.fields = fields

    def __enter__(self) -> None:
        self.token = _fields.set({**_fields.get(), **self.fields})

    def __exit__(self, *exc: object) -> None:
        _fields.reset(self.token)
