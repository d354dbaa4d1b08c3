"""Issue #25 item 4: the trace of one remote execution, as a real OTLP receiver (Jaeger) got it.

`wingspan serve` exports over OTLP (configured by the standard OTEL_* variables only) to
Jaeger on loopback; the test calls it with a traceparent of its own, over gRPC (the SDK's
Remote) and over HTTP, and reads the traces back from Jaeger's query API: the spans from the
API call down to the task body, each the child of the one above, in the caller's trace.
"""

from __future__ import annotations

import json
import secrets
import textwrap
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio

from tests.unit.api.served import Served, wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase

FLOWS = """
    import os

    from wingspan import task, workflow

    @task
    def body_trace(x: int) -> str:
        return os.environ.get("TRACEPARENT", "") + f"|{x}"

    @workflow
    def traced(x: int = 1) -> str:
        return body_trace(x=x)
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(jaeger_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[Served, str, str, str]]:
    """One served process for the module, exporting to Jaeger under a service name of its own."""
    home = tmp_path_factory.mktemp("tracing") / "home"
    service = f"wingspan-test-{uuid.uuid4().hex[:8]}"
    env = {"WINGSPAN_HOME": str(home), "OTEL_SERVICE_NAME": service, "OTEL_BSP_SCHEDULE_DELAY": "100",
           "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger_env["WINGSPAN_TEST_OTLP_ENDPOINT"], "TRACEPARENT": ""}
    async with wingspan_serve("--log-format", "json", env=env) as (server, http_url, host, port):
        yield server, http_url, f"{host}:{port}", jaeger_env["WINGSPAN_TEST_JAEGER_QUERY"]


pytestmark = [pytest.mark.real, pytest.mark.asyncio(loop_scope="module")]


async def _trace(query: str, trace_id: str, last_span: str, within: float = 30) -> list[dict[str, Any]]:
    """The spans of ``trace_id`` in Jaeger, once one named ``last_span`` and the execution's run
    are among them: the run's span ends after the body's and can reach Jaeger in a later batch."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=query) as client:
        while True:
            answer = await client.get(f"/api/traces/{trace_id}")
            if answer.status_code == 200:
                spans: list[dict[str, Any]] = answer.json()["data"][0]["spans"]
                if {last_span, "execution run"} <= {s["operationName"] for s in spans}:
                    return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"no span {last_span!r} in trace {trace_id} after {within} s: "
                                     f"{answer.text}")
            await anyio.sleep(0.2)


def _parent(span: dict[str, Any]) -> str:
    return next((r["spanID"] for r in span["references"] if r["refType"] == "CHILD_OF"), "")


def _tree(spans: list[dict[str, Any]], root_parent: str) -> list[str]:
    """The spans as an indented list (children in start order), from those under ``root_parent``."""
    lines: list[str] = []

    def walk(parent: str, depth: int) -> None:
        for span in sorted((s for s in spans if _parent(s) == parent), key=lambda s: s["startTime"]):
            lines.append("  " * depth + f"{span['operationName']}  ({span['duration'] / 1000:.1f} ms)")
            walk(span["spanID"], depth + 1)

    walk(root_parent, 0)
    return lines


def _chain(spans: list[dict[str, Any]], names: list[str], root_parent: str) -> list[dict[str, Any]]:
    """The spans named ``names``, each the child of the one before (the first of ``root_parent``)."""
    found, parent = [], root_parent
    for name in names:
        span = next((s for s in spans if s["operationName"] == name and _parent(s) == parent), None)
        assert span is not None, f"no span {name!r} under {parent}:\n" + "\n".join(_tree(spans, root_parent))
        found.append(span)
        parent = span["spanID"]
    return found


async def test_a_remote_execution_is_one_trace_from_the_grpc_call_to_the_task_body(
        served: tuple[Served, str, str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, endpoint, query = served
    flows = tmp_path / "traced_flows.py"
    flows.write_text(textwrap.dedent(FLOWS))
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    remote = AsyncRemote(endpoint)
    try:
        await remote.register(flows)
        # the caller's trace context, as a task body (or any process given one) passes it on
        monkeypatch.setenv("TRACEPARENT", f"00-{trace_id}-{caller_span}-01")
        run = await remote.execute("traced_flows.traced", {"x": 2}, wait=True, timeout=60)
        assert run.phase == WorkflowPhase.SUCCEEDED, run.error
        output = (await run.outputs())["o0"]
    finally:
        await remote.aclose()
    spans = await _trace(query, trace_id, "task traced_flows.body_trace")
    tree = _tree(spans, caller_span)
    print("\n" + "\n".join(tree))
    chain = _chain(spans, [
        "wingspan.v1.AdminService/CreateExecution", "service.create_execution", "execution run",
        "node n0", "attempt 0", "plugin local-process", "task traced_flows.body_trace",
    ], caller_span)
    assert chain[0]["tags"] and {"key": "span.kind", "type": "string", "value": "server"} in chain[0]["tags"]
    # the body saw its own span's traceparent (what its code and child processes continue)
    body_traceparent, _, x = output.partition("|")
    assert (body_traceparent, x) == (f"00-{trace_id}-{chain[-1]['spanID']}-01", "2")


async def test_an_http_call_continues_the_callers_trace(served: tuple[Served, str, str, str],
                                                        tmp_path: Path) -> None:
    _, http_url, endpoint, query = served
    flows = tmp_path / "traced_http_flows.py"  # a module of its own: this process loaded traced_flows
    flows.write_text(textwrap.dedent(FLOWS))
    remote = AsyncRemote(endpoint)
    try:
        registered = await remote.register(flows)
    finally:
        await remote.aclose()
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    request = {"project": "default", "domain": "development", "spec": {
        "entityId": {"resourceType": "RESOURCE_TYPE_WORKFLOW", "project": "default", "domain": "development",
                     "name": "traced_http_flows.traced", "version": registered.version}}}
    async with httpx.AsyncClient(base_url=http_url) as client:
        answer = await client.post("/api/v1/CreateExecution", content=json.dumps(request), headers={
            "content-type": "application/json", "traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert answer.status_code == 200, answer.text
    spans = await _trace(query, trace_id, "task traced_http_flows.body_trace")
    print("\n" + "\n".join(_tree(spans, caller_span)))
    _chain(spans, ["POST /api/v1/CreateExecution", "service.create_execution", "execution run", "node n0",
                   "attempt 0", "plugin local-process", "task traced_http_flows.body_trace"], caller_span)
