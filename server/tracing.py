"""OpenTelemetry traces of the server, configured by the standard ``OTEL_*`` variables.

Tracing is on when the environment asks for it: ``OTEL_TRACES_EXPORTER`` names an exporter
(``otlp``, ``console``), or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` says where to send spans (OTLP over HTTP/protobuf).
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it off. The rest is the SDK's
own reading of the standard variables: ``OTEL_SERVICE_NAME`` (``wingspan`` when unset),
``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``, the exporter's headers
and timeouts. Off, nothing of OpenTelemetry is imported and core's spans cost one global read
(:mod:`wingspan.core.tracing`).

The spans of one remote execution: the API call (a server span, child of the caller's
``traceparent``), the service call, then, stored with the execution so that whichever engine
replica runs it continues the same trace, the run, each node, each attempt, the plugin's part
and the task body (timed in the worker, recorded here).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from wingspan.core import tracing
from wingspan.core.errors import ConfigError, MissingExtraError
from wingspan.core.tracing import Attributes, SpanKind

__all__ = ["OtelTracer", "configure_tracing", "tracing_wanted"]


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the standard variables ask for traces to be exported."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = {e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    if exporters:
        return exporters != {"none"}
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure_tracing(environ: Mapping[str, str] | None = None) -> OtelTracer | None:
    """Installs an OpenTelemetry tracer as core's when the environment asks for traces; the
    caller shuts it down (``shutdown``, which sends what is left) when the server stops."""
    env = os.environ if environ is None else environ
    if not tracing_wanted(env):
        return None
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError as exc:
        raise MissingExtraError("traces asked for by the OTEL_* variables", "otel",
                                "OpenTelemetry's SDK and OTLP exporter") from exc
    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: "wingspan"})
    provider = TracerProvider(resource=resource)
    names = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if e.strip()]
    processors = []
    for name in names:
        exporter: SpanExporter
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        elif name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "none":
            continue
        else:
            raise ConfigError(f"OTEL_TRACES_EXPORTER names {name!r}; this server exports traces "
                              "with otlp (HTTP/protobuf), console or none")
        processor = BatchSpanProcessor(exporter)
        provider.add_span_processor(processor)
        processors.append(processor)
    tracer = OtelTracer(provider, processors)
    tracing.install(tracer)
    return tracer


class OtelTracer:
    """Core's :class:`~wingspan.core.tracing.Tracer` over an OpenTelemetry TracerProvider."""

    def __init__(self, provider: Any, processors: list[Any]) -> None:
        from opentelemetry.trace import SpanKind as OtelKind
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self._processors = processors
        self._tracer = provider.get_tracer("wingspan")
        self._propagator = TraceContextTextMapPropagator()
        self._kinds = {"internal": OtelKind.INTERNAL, "server": OtelKind.SERVER, "client": OtelKind.CLIENT}

    @contextlib.contextmanager
    def span(self, name: str, attributes: Attributes, parent: str | None, kind: SpanKind) -> Iterator[None]:
        context = self._propagator.extract({"traceparent": parent}) if parent else None
        with self._tracer.start_as_current_span(name, context=context, kind=self._kinds[kind],
                                                attributes=dict(attributes)):
            yield

    def traceparent(self) -> str | None:
        carrier: dict[str, str] = {}
        self._propagator.inject(carrier)
        return carrier.get("traceparent")

    def trace_ids(self) -> tuple[str, str] | None:
        from opentelemetry import trace

        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return None
        return f"{context.trace_id:032x}", f"{context.span_id:016x}"

    def record(self, name: str, traceparent: str, parent: str, start_ns: int, end_ns: int,
               attributes: Attributes, failed: bool) -> None:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import Status, StatusCode

        own = self._span_context(traceparent)
        up = self._span_context(parent)
        if not own.is_valid or not up.is_valid or not own.trace_flags.sampled:
            return
        done = ReadableSpan(
            name, context=trace.SpanContext(own.trace_id, own.span_id, False, own.trace_flags),
            parent=up, resource=self.provider.resource, attributes=dict(attributes),
            kind=trace.SpanKind.INTERNAL, start_time=start_ns, end_time=end_ns,
            status=Status(StatusCode.ERROR if failed else StatusCode.UNSET),
            instrumentation_scope=getattr(self._tracer, "_instrumentation_scope", None),
        )
        for processor in self._processors:
            processor.on_end(done)

    def _span_context(self, traceparent: str) -> Any:
        from opentelemetry import trace

        context = self._propagator.extract({"traceparent": traceparent})
        return trace.get_current_span(context).get_span_context()

    def shutdown(self) -> None:
        """Sends the spans not yet sent, and stops; core's spans are off again."""
        if tracing.installed() is self:
            tracing.install(None)
        self.provider.shutdown()
