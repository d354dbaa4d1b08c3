"""End to end: `wingspan serve` with Dask tasks as DaskJobs (``task_targets = "dask=dask-k8s"``)
on the real API server. A workflow registered and run with `wingspan run --remote` makes a
DaskJob; the test plays the Dask operator (no operator runs here: it makes the job's runner
pod from ``spec.job.spec`` with ``DASK_SCHEDULER_ADDRESS`` and writes the job's status through
the status subresource), the node agent runs the runner pod (``wingspan execute`` of the
registered bundle), and the run's output comes back through the server. The cluster settings
(``[plugins.k8s]``) come from the file given as ``wingspan serve --config``, as a deployment's
would: the dask-k8s target takes them from the server's settings."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes_asyncio.client import ApiClient, CoreV1Api, CustomObjectsApi
from kubernetes_asyncio.watch import Watch

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from tests.real.k8s.test_custom_objects import run_job_as_the_operator
from tests.real.k8s.test_k8s_plugin_serve import print_failed_pods, remove_namespaces, wingspan
from tests.unit.api.served import wingspan_serve

pytestmark = [pytest.mark.real, pytest.mark.slow]

WORKFLOW = '''
from wingspan import current_context, task, workflow
from wingspan_dask import Dask


@task(task_config=Dask(workers=1))
def where(n: int) -> str:
    return f"{n} on {current_context().dask_client.scheduler.address}"


@workflow
def dask_where(n: int = 3) -> str:
    return where(n=n)
'''


@pytest.fixture
def custom(kube_client: ApiClient) -> CustomObjectsApi:
    return CustomObjectsApi(kube_client)


@pytest.fixture
async def scheduler() -> AsyncIterator[str]:
    from distributed import Scheduler

    async with Scheduler(host="127.0.0.1", port=0, dashboard_address=":0", dashboard=False) as running:
        yield running.address


async def play_the_operator(custom: CustomObjectsApi, core: CoreV1Api, namespace: str, scheduler: str,
                            handled: list[str]) -> None:
    """Runs every DaskJob made in ``namespace`` as the operator would (until cancelled)."""
    group, version, plural = "kubernetes.dask.org", "v1", "daskjobs"
    version_seen = ""
    while True:
        async with Watch(return_type="object") as watch:
            async for event in watch.stream(custom.list_namespaced_custom_object, group, version, namespace,
                                            plural, resource_version=version_seen, timeout_seconds=60):
                job = event["raw_object"]
                version_seen = job["metadata"]["resourceVersion"]
                name = job["metadata"]["name"]
                if event["type"] == "ADDED" and name not in handled:
                    handled.append(name)
                    handle = {"group": group, "version": version, "plural": plural, "namespace": namespace,
                              "name": name}
                    await run_job_as_the_operator(custom, core, handle, scheduler)


async def test_a_dask_task_runs_as_a_daskjob_through_wingspan_serve(
        kube_apiserver: KubeApiserver, node_agent: NodeAgent, core: CoreV1Api, custom: CustomObjectsApi,
        scheduler: str, tmp_path: Path) -> None:
    source = tmp_path / "dask_where.py"
    source.write_text(WORKFLOW)
    prefix = f"d{uuid.uuid4().hex[:8]}"
    namespace = f"{prefix}-default-development"
    config = tmp_path / "wingspan.toml"
    config.write_text(f"""
task_targets = "dask=dask-k8s"

[plugins.k8s]
kubeconfig = {json.dumps(str(kube_apiserver.kubeconfig))}
node_name = {json.dumps(node_agent.node_names[0])}
namespace_template = {json.dumps(prefix + "-{project}-{domain}")}
execute_command = {json.dumps([sys.executable, "-m", "wingspan.cli", "execute"])}
env = {{ WINGSPAN_HOME = {json.dumps(str(tmp_path / "pod-home"))} }}
cleanup_after_seconds = -1
""")
    env = {"WINGSPAN_HOME": str(tmp_path / "home")}
    handled: list[str] = []
    await core.create_namespace({"metadata": {"name": namespace}})  # type: ignore[arg-type]  # for the watch
    operator = asyncio.ensure_future(play_the_operator(custom, core, namespace, scheduler, handled))
    try:
        async with wingspan_serve("--config", str(config), env=env) as (server, _, grpc_host, grpc_port):
            where = {"WINGSPAN_ENDPOINT": f"{grpc_host}:{grpc_port}",
                     "WINGSPAN_HOME": str(tmp_path / "client")}
            try:
                code, _, err = await wingspan("register", str(source), env=where)
                assert code == 0, err
                code, out, err = await wingspan("run", "--remote", str(source), "dask_where", "--n", "5",
                                                "-o", "json", env=where, seconds=120)
                assert code == 0, err
            except BaseException:
                print("".join(server.lines), file=sys.stderr)
                await print_failed_pods(core, namespace)
                raise
        assert json.loads(out) == {"o0": f"5 on {scheduler}"}
        assert len(handled) == 1  # one attempt, one DaskJob
    finally:
        operator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await operator
        await remove_namespaces(core, prefix)
