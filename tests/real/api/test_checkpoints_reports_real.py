"""Checkpoints and reports on a server whose blob store is MinIO (issue #22 items 18, 20): a
retried attempt in a worker process restores what the attempt before saved in S3, and a
report stored there comes down to a client without the store's keys."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.unit.engine import checkpoint_tasks
from tests.unit.sdk import report_tasks
from wingspan._remote.client import AsyncRemote
from wingspan.core.model.execution import WorkflowPhase
from wingspan.server.serve import ApiServer

pytestmark = pytest.mark.real


async def test_checkpoints_and_reports_live_in_s3(s3_server: ApiServer, tmp_path: Path) -> None:
    assert s3_server.settings.storage.startswith("s3://")
    code = tmp_path / "code"
    code.mkdir()
    shutil.copy(Path(checkpoint_tasks.__file__), code / "s3_checkpoints.py")
    shutil.copy(Path(report_tasks.__file__), code / "s3_reports.py")
    client = AsyncRemote(s3_server.grpc_address)  # no S3 keys here: only the endpoint
    try:
        await client.register(code)
        counted = await client.execute("s3_checkpoints.counting", {"n": 3}, wait=True, timeout=120)
        assert counted.phase == WorkflowPhase.SUCCEEDED, counted.error
        assert await counted.outputs() == {"o0": "reached 3 on attempt 2"}

        reported = await client.execute("s3_reports.reported", {"values": [1, 2]}, name="s3-report",
                                        wait=True, timeout=120)
        assert reported.phase == WorkflowPhase.SUCCEEDED, reported.error
        (report,) = await client.reports("s3-report")
        assert report["uri"].startswith("s3://") and report["uri"].endswith("/n0/1/report.html")
        assert "<h1>Attempt 1</h1>" in report["html"]
    finally:
        await client.aclose()
