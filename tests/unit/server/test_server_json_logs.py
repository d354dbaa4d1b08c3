"""Issue #25 item 4: `wingspan serve --log-format json` writes one JSON object per log record,
carrying the execution, node and attempt of the work in progress and, with tracing on, the
trace and span ids."""

from __future__ import annotations

import io
import json
import logging
import re
import textwrap
from pathlib import Path

import anyio

from tests.unit.api.served import wingspan_serve
from wingspan._remote.client import AsyncRemote
from wingspan.core import tracing
from wingspan.core.model.execution import WorkflowPhase
from wingspan.server.log_records import JsonLogFormatter

FLOWS = """
    from pathlib import Path

    from wingspan import task, workflow

    @task(retries=1)
    def flaky(marker: str) -> int:
        if not Path(marker).exists():
            Path(marker).write_text("failed once")
            raise RuntimeError("first attempt fails")
        return 1

    @workflow
    def once_flaky(marker: str) -> int:
        return flaky(marker=marker)
"""


async def test_served_log_records_carry_the_execution_node_attempt_and_trace(tmp_path: Path) -> None:
    flows = tmp_path / "json_log_flows.py"
    flows.write_text(textwrap.dedent(FLOWS))
    # tracing on, with spans written to standard output (which the test drops)
    env = {"WINGSPAN_HOME": str(tmp_path / "home"), "OTEL_TRACES_EXPORTER": "console", "TRACEPARENT": ""}
    async with wingspan_serve("--log-format", "json", env=env) as (served, _, host, port):
        remote = AsyncRemote(f"{host}:{port}")
        try:
            await remote.register(flows)
            run = await remote.execute("json_log_flows.once_flaky", {"marker": str(tmp_path / "marker")},
                                       wait=True, timeout=60)
        finally:
            await remote.aclose()
        assert run.phase == WorkflowPhase.SUCCEEDED, run.error
        # written before the retry, so read by now; the reader runs beside the test: a moment more
        with anyio.fail_after(10):
            while not any("retrying" in line for line in served.lines):  # noqa: ASYNC110
                await anyio.sleep(0.05)
    records = [json.loads(line) for line in served.lines if not line.startswith("wingspan serve:")]
    retried = next(r for r in records if "retrying" in r["message"])
    assert retried["execution_id"] == f"default/development/{run.name}"
    assert (retried["node_id"], retried["attempt"], retried["level"], retried["logger"]) == (
        "n0", 0, "INFO", "wingspan.engine")
    assert re.fullmatch(r"[0-9a-f]{32}", retried["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", retried["span_id"])


def test_a_json_record_has_the_fields_known_and_no_trace_ids_with_tracing_off() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("wingspan.test_json_logs")
    logger.addHandler(handler)
    logger.propagate = False
    tracing.keep_log_fields()
    try:
        assert tracing.installed() is None
        with tracing.log_fields(execution_id="p/d/e1"), tracing.log_fields(node_id="n3"):
            logger.warning("inside %s", "a node")
        logger.warning("outside")
    finally:
        tracing.keep_log_fields(False)
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: inside[k] for k in ("message", "level", "execution_id", "node_id")} == {
        "message": "inside a node", "level": "WARNING", "execution_id": "p/d/e1", "node_id": "n3"}
    assert "trace_id" not in inside and "node_id" not in outside
