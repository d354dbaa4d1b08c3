"""A connector job survives its server: a BigQuery task registered with a real `wingspan serve`
(replica "a") is submitted, that server is killed (SIGKILL) while the job runs, and a second
server on the same database (replica "b") takes the execution over once the lease runs out and
follows the same job, from the resource stored with the attempt, to its result. The loopback
BigQuery server counts the submissions: one."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api.served import ServeProcess
from tests.unit.webapi.providers import TOKEN, BigQuery
from wingspan._remote.sync import Remote

pytestmark = pytest.mark.slow

FLOWS = """
from wingspan import kwtypes
from wingspan_webapi import BigQueryTask

total = BigQueryTask("total", "SELECT sum(n) AS n FROM t WHERE k = {{ .inputs.k }}",
                     inputs=kwtypes(k=str), outputs=kwtypes(n=int))
"""


def serve(env: dict[str, str], home: Path, replica: str) -> ServeProcess:
    return ServeProcess("--replica-id", replica, "--lease-seconds", "2",
                        env={**env, "WINGSPAN_HOME": str(home)})


@pytest.fixture
def bigquery() -> Iterator[BigQuery]:
    with BigQuery() as fake:
        fake.instant = False
        yield fake


def test_a_job_is_resumed_by_another_server_not_submitted_again(bigquery: BigQuery, tmp_path: Path) -> None:
    bigquery.answer("SELECT sum(n) AS n FROM t WHERE k = <STRING:x>", [("n", "INTEGER")], [["42"]])
    flows = tmp_path / "webflows.py"
    flows.write_text(FLOWS)
    env = {
        "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_URL": bigquery.url,
        "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_PROJECT": "proj",
        "WINGSPAN_PLUGINS__WEBAPI__BIGQUERY_TOKEN": TOKEN,
        "WINGSPAN_PLUGINS__WEBAPI__POLL_INTERVAL": "0.2",
    }
    first = serve(env, tmp_path / "home", "a")
    second: ServeProcess | None = None
    try:
        with Remote(first.endpoint) as client:
            client.register(flows)
            run_id = client.execute("total", {"k": "x"}).id
        bigquery.wait_for("the job looked at", lambda: bigquery.count("GET", "/projects/proj/jobs/.*") >= 2)
        first.kill()
        looks = bigquery.count("GET", "/projects/proj/jobs/.*")
        second = serve(env, tmp_path / "home", "b")
        bigquery.wait_for(
            "the second server looking at the same job",
            lambda: bigquery.count("GET", "/projects/proj/jobs/.*") > looks,
        )
        (job_id,) = bigquery.jobs
        bigquery.finish(job_id)
        with Remote(second.endpoint) as client:
            done = client.execution(run_id).wait(timeout=60)
            assert done.phase.name == "SUCCEEDED", done.error
            assert done.outputs == {"n": 42}
        assert bigquery.count("POST", "/projects/proj/jobs") == 1
        # the server's log does not hold a line per request the plugin sent (one per look)
        assert not [line for line in first.lines + second.lines if "HTTP Request:" in line]
    except BaseException:
        print("".join(first.lines + (second.lines if second else [])), file=sys.stderr)
        raise
    finally:
        first.stop()
        if second is not None:
            second.stop()
