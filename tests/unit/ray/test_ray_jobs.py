"""Ray tasks on a running head, through its Jobs API (``[plugins.ray] address``): each attempt
is a Ray job whose driver runs the body on the head's cluster (not a local one) and leaves its
outputs, or its named error, in the blob store. The head is a real ``ray start --head`` on
loopback ports (about 15 s to start on 2 shared CPUs); every process of it carries a marker in
its environment, by which it is stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from wingspan_ray._reaper import MARKER_VARIABLE, kill_cluster

ROOT = Path(__file__).resolve().parents[3]
TASKS = ROOT / "tests" / "unit" / "ray" / "ray_job_tasks.py"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A Ray head: (its Jobs API address, its GCS address)."""
    marker = uuid.uuid4().hex
    gcs, dashboard = free_port(), free_port()
    ray = str(Path(sys.executable).with_name("ray"))
    folder = tmp_path_factory.mktemp("ray-head")
    log = (folder / "head.log").open("wb")
    process = subprocess.Popen(
        [ray, "start", "--head", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
         f"--port={gcs}", f"--dashboard-port={dashboard}", "--dashboard-host=127.0.0.1",
         "--include-dashboard=true",
         f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
         "--num-cpus=1", "--object-store-memory=100000000"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        # a head on loopback for this test only: no token (a real head's token reaches the engine
        # as Ray's RAY_AUTH_TOKEN)
        env={**os.environ, MARKER_VARIABLE: marker, "RAY_AUTH_MODE": "disabled"})
    url = f"http://127.0.0.1:{dashboard}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/version", timeout=2):
                    break
            except urllib.error.HTTPError:  # it answers (401: Ray's token authentication is on)
                break
            except OSError:
                assert process.poll() is None, (folder / "head.log").read_text()[-3000:]
                assert time.monotonic() < deadline, (folder / "head.log").read_text()[-3000:]
                time.sleep(0.5)
        yield url, f"127.0.0.1:{gcs}"
    finally:
        kill_cluster(marker)
        process.wait(timeout=30)
        log.close()


def run_cli(address: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WINGSPAN_HOME": str(home), "WINGSPAN_PLUGINS__RAY__ADDRESS": address}
    env.pop("WINGSPAN_TASK_TARGETS", None)
    return subprocess.run([sys.executable, "-m", "wingspan.cli", "run", str(TASKS), *args],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)


def test_a_ray_task_runs_as_a_job_on_the_configured_head(head: tuple[str, str], tmp_path: Path) -> None:
    url, gcs = head
    done = run_cli(url, tmp_path / "home", "on_the_head", "--n", "4")
    assert done.returncode == 0, done.stderr[-3000:]
    # 3 * (0 + 1 + 2 + 3), on the head's cluster: its driver joined the head's GCS (at the
    # machine's address Ray chose, on the head's port), not a cluster of its own
    total, address = done.stdout.strip().splitlines()
    assert total == "o0: 18", done.stdout
    assert address.startswith("o1: ") and address.endswith(f":{gcs.rpartition(':')[2]}"), done.stdout


def test_a_remote_exception_in_a_job_comes_back_named(head: tuple[str, str], tmp_path: Path) -> None:
    url, _ = head
    done = run_cli(url, tmp_path / "home", "refused_on_the_head", "--n", "5")
    assert done.returncode != 0
    assert "RayRemoteTaskError" in done.stderr, done.stderr[-3000:]
    refused = "the Ray task 'refuse' raised ValueError: the head says no to 5"
    assert refused in done.stderr, done.stderr[-3000:]


def test_a_timeout_stops_the_job_on_the_head(head: tuple[str, str], tmp_path: Path) -> None:
    from ray.job_submission import JobStatus, JobSubmissionClient

    url, _ = head
    done = run_cli(url, tmp_path / "home", "sleeps_on_the_head", "--n", "1")
    assert done.returncode != 0
    assert "timeout of 20s" in done.stderr, done.stderr[-3000:]
    client = JobSubmissionClient(url)
    jobs = [job for job in client.list_jobs() if job.entrypoint and "sleeps_on_the_head" in job.entrypoint]
    assert len(jobs) == 1 and jobs[0].submission_id, jobs
    job = jobs[0].submission_id
    deadline = time.monotonic() + 60
    while client.get_job_status(job) != JobStatus.STOPPED:
        assert time.monotonic() < deadline, client.get_job_info(job)
        time.sleep(0.5)
