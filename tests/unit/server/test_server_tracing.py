"""Issue #25 item 4: the server's traces (OpenTelemetry, exported when the OTEL_* variables ask).

Here the spans go to OpenTelemetry's in-memory exporter; tests/real/test_tracing_jaeger.py
sends them to a real OTLP receiver through `wingspan serve`.
"""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.unit.remote.servers import api_server
from wingspan._remote.client import AsyncRemote
from wingspan.core import tracing
from wingspan.core.model.execution import WorkflowPhase
from wingspan.server.tracing import OtelTracer, configure_tracing, tracing_wanted

FLOWS = """
    import os

    from wingspan import task, workflow

    @task
    def body_trace(x: int) -> str:
        return os.environ.get("TRACEPARENT", "")

    @workflow
    def traced(x: int = 1) -> str:
        return body_trace(x=x)
"""


@pytest.mark.parametrize(("env", "wanted"), [
    ({}, False),
    ({"OTEL_SERVICE_NAME": "x"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
    ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
    ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, False),
])
def test_tracing_is_on_only_when_the_otel_variables_ask(env: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(env) is wanted


def test_off_nothing_is_installed_and_spans_cost_nothing() -> None:
    assert configure_tracing({}) is None
    assert tracing.installed() is None
    assert tracing.span("a") is tracing.span("b")  # one shared do-nothing context manager
    assert tracing.traceparent() is None


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    tracer = OtelTracer(provider, [processor])
    tracing.install(tracer)
    try:
        yield exporter
    finally:
        tracer.shutdown()
    assert tracing.installed() is None


def _chain(spans: tuple[ReadableSpan, ...], names: list[str], root_parent: int) -> list[ReadableSpan]:
    found, parent = [], root_parent
    for name in names:
        span = next((s for s in spans
                     if s.name == name and s.parent is not None and s.parent.span_id == parent), None)
        assert span is not None, (f"no span {name!r} under {parent:016x}; spans: "
                                  f"{[(s.name, s.parent and f'{s.parent.span_id:016x}') for s in spans]}")
        found.append(span)
        assert span.context is not None
        parent = span.context.span_id
    return found


async def test_an_execution_created_on_one_server_and_run_by_another_is_one_trace(
        spans: InMemorySpanExporter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flows = tmp_path / "traced_unit_flows.py"
    flows.write_text(textwrap.dedent(FLOWS))
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    home = tmp_path / "home"
    # created by a server with no engine: the execution waits, queued, with its trace context
    async with api_server(home) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            await remote.register(flows)
            monkeypatch.setenv("TRACEPARENT", f"00-{trace_id}-{caller}-01")
            created = await remote.execute("traced_unit_flows.traced", {"x": 3})
            monkeypatch.delenv("TRACEPARENT")
        finally:
            await remote.aclose()
    # another server process (here: another server on the same database) runs it
    async with api_server(home, engine=True) as server:
        remote = AsyncRemote(server.grpc_address)
        try:
            run = await remote.execution(created.name)
            await run.wait(timeout=60)
            assert run.phase == WorkflowPhase.SUCCEEDED, run.error
            output: Any = (await run.outputs())["o0"]
        finally:
            await remote.aclose()
    finished = spans.get_finished_spans()
    chain = _chain(finished, [
        "wingspan.v1.AdminService/CreateExecution", "service.create_execution", "execution run", "node n0",
        "attempt 0", "plugin local-process", "task traced_unit_flows.body_trace"], int(caller, 16))
    assert {f"{s.context.trace_id:032x}" for s in chain if s.context is not None} == {trace_id}
    body = chain[-1].context
    assert body is not None and output == f"00-{trace_id}-{body.span_id:016x}-01"
