"""Spark frames through a real MinIO: with the blob store on S3, the executors write a
frame's Parquet parts to local staging and the parts are uploaded through the blob store;
the next tasks read them back as Spark, pandas and arrow frames."""

from __future__ import annotations

import importlib
from pathlib import Path

import anyio.to_thread
import pytest

from wingspan._runner.run import outputs_of, run_workflow_entity
from wingspan.core.model.execution import WorkflowPhase
from wingspan.core.storage.s3 import S3BlobStore

pytestmark = [pytest.mark.real, pytest.mark.slow]
SPARK_TESTS = Path(__file__).resolve().parents[1] / "unit" / "spark"


async def test_spark_frames_travel_through_an_s3_store(
        s3_store: S3BlobStore, minio_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.syspath_prepend(str(SPARK_TESTS))
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("WINGSPAN_STORAGE", s3_store.root)
    monkeypatch.delenv("WINGSPAN_TASK_TARGETS", raising=False)
    monkeypatch.setenv("WINGSPAN_S3_ENDPOINT", minio_env["WINGSPAN_TEST_S3_ENDPOINT"])
    monkeypatch.setenv("WINGSPAN_S3_ACCESS_KEY", minio_env["WINGSPAN_TEST_S3_ACCESS_KEY"])
    monkeypatch.setenv("WINGSPAN_S3_SECRET_KEY", minio_env["WINGSPAN_TEST_S3_SECRET_KEY"])
    monkeypatch.setenv("WINGSPAN_S3_REGION", minio_env["WINGSPAN_TEST_S3_REGION"])
    tasks = importlib.import_module("spark_tasks")
    result = await anyio.to_thread.run_sync(run_workflow_entity, tasks.frames, {"n": 50})
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    squares = sum(i * i for i in range(50))
    assert outputs_of(tasks.frames, result) == (squares, 50, squares, 2 * sum(range(50)))
    parts = [uri async for uri in s3_store.list_prefix(s3_store.root + "/")
             if "/spark-frame/part-" in uri and uri.endswith(".parquet")]
    assert len(parts) >= 2, parts  # the squares' two partitions, uploaded as parts
