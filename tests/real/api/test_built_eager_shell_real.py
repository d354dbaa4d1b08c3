"""Issue #22 items 14-17 on `wingspan serve` over PostgreSQL and MinIO: an eager body in a worker
whose calls come back to the engine, a built workflow, a shell task whose File output goes to
S3, and a failure handler, each run with `wingspan run --remote`."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tests.real.api.test_remote_e2e import served_on_postgres_and_minio, wingspan
from tests.unit.api.served import Served
from tests.unit.remote.test_remote_served_process import FLOWS

pytestmark = [pytest.mark.real, pytest.mark.slow]

__all__ = ["served_on_postgres_and_minio"]  # the fixture, used by name


async def test_items_14_to_17_on_postgres_and_minio(served_on_postgres_and_minio: tuple[Served, str],
                                                     tmp_path: Path) -> None:
    server, endpoint = served_on_postgres_and_minio
    flows = tmp_path / "project" / "served_flows.py"
    flows.parent.mkdir()
    flows.write_text(textwrap.dedent(FLOWS))
    where = {"WINGSPAN_ENDPOINT": endpoint}
    report = tmp_path / "report.txt"
    try:
        for entity, args, expected in [("fan", ["--n", "4"], "10"), ("served_flows.built", ["--x", "1"], "3"),
                                       ("shouted", ["--who", "ada"], "HELLO ADA")]:
            code, out, err = await wingspan("run", "--remote", str(flows), entity, *args, env=where)
            assert (code, out.strip()) == (0, expected), err
        code, out, err = await wingspan("run", "--remote", str(flows), "guarded", "--report", str(report),
                                        env=where)
        assert code != 0 and "boom" in err
        assert report.read_text() == "n0"
    except BaseException:
        print("".join(server.lines), file=sys.stderr)
        raise
