"""End to end: `wingspan serve` with Python tasks as pods (``task_targets = "python=k8s"``) on
the real API server, the node agent running the pods; the examples, registered and run with
`wingspan run --remote`, give what the same runs give locally, and their tasks really ran
as pods (code from the registered bundle, through ``wingspan execute``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest
from kubernetes_asyncio.client import CoreV1Api
from kubernetes_asyncio.client.exceptions import ApiException

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from tests.unit.api.served import wingspan_serve

pytestmark = [pytest.mark.real, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
# (file, entity, inputs): the examples' workflows
CASES = [
    ("branch.py", "branch", ["--x", "-2"]),
    ("chain.py", "chain", ["--x", "5"]),
    ("dataframes.py", "sales_pipeline", []),
    ("diamond.py", "diamond", ["--values", "[2, 4, 9]"]),
    ("dynamic_fanout.py", "dynamic_fanout", ["--n", "3"]),
    ("fanout_map.py", "fanout_map", []),
    ("files.py", "file_pipeline", ["--count", "7"]),
    ("scheduled.py", "daily_report", ["--day", "2026-03-04T05:06:07+00:00"]),
    ("subworkflow.py", "two_greetings", ["--first", "ada"]),
]


async def wingspan(*args: str, env: dict[str, str] | None = None,
                   seconds: float = 300) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wingspan.cli", *args, cwd=ROOT, env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), seconds)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def print_failed_pods(core: CoreV1Api, namespace: str) -> None:
    """The logs of the pods that failed, for the report of a failed test."""
    for pod in (await core.list_namespaced_pod(namespace)).items:
        if pod.status.phase == "Failed":
            text = await core.read_namespaced_pod_log(pod.metadata.name, namespace)
            print(f"--- pod {pod.metadata.name} failed:\n{text}", file=sys.stderr)


async def remove_namespaces(core: CoreV1Api, prefix: str) -> None:
    for namespace in (await core.list_namespace()).items:
        name = namespace.metadata.name
        if name.startswith(prefix):
            await core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
            await core.delete_namespace(name)
            try:
                await core.replace_namespace_finalize(name, {"metadata": {"name": name},  # type: ignore[arg-type]
                                                             "spec": {"finalizers": []}})
            except ApiException as exc:
                if exc.status != 404:
                    raise


async def test_the_examples_run_as_pods_through_wingspan_serve(
        kube_apiserver: KubeApiserver, node_agent: NodeAgent, core: CoreV1Api, tmp_path: Path) -> None:
    limit = asyncio.Semaphore(2)

    async def local(source: str, entity: str, inputs: list[str]) -> object:
        async with limit:
            code, out, err = await wingspan("run", str(EXAMPLES / source), entity, *inputs, "-o", "json",
                                            env={"WINGSPAN_HOME": str(tmp_path / "local-home")})
        assert code == 0, err
        return json.loads(out)

    expected = await asyncio.gather(*(local(*case) for case in CASES))
    prefix = f"e{uuid.uuid4().hex[:8]}"
    env = {
        "WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_TASK_TARGETS": "python=k8s",
        "WINGSPAN_K8S_KUBECONFIG": str(kube_apiserver.kubeconfig),
        # the platform's plugin variables and the plugin's own (kept from before) both count
        "WINGSPAN_PLUGINS__K8S__NODE_NAME": node_agent.node_names[0],
        "WINGSPAN_PLUGINS__K8S__NAMESPACE_TEMPLATE": prefix + "-{project}-{domain}",
        "WINGSPAN_K8S_EXECUTE_COMMAND": json.dumps([sys.executable, "-m", "wingspan.cli", "execute"]),
        "WINGSPAN_K8S_ENV": json.dumps({"WINGSPAN_HOME": str(tmp_path / "pod-home")}),
        "WINGSPAN_K8S_CLEANUP_AFTER_SECONDS": "-1",
    }
    try:
        async with wingspan_serve(env=env) as (server, _, grpc_host, grpc_port):
            where = {"WINGSPAN_ENDPOINT": f"{grpc_host}:{grpc_port}",
                     "WINGSPAN_HOME": str(tmp_path / "client")}
            try:
                code, _, err = await wingspan("register", str(EXAMPLES), env=where)
                assert code == 0, err

                async def remote(source: str, entity: str, inputs: list[str]) -> object:
                    async with limit:
                        code, out, err = await wingspan("run", "--remote", str(EXAMPLES / source), entity,
                                                        *inputs, "-o", "json", env=where)
                    assert code == 0, f"{source} {entity}: {err}"
                    return json.loads(out)

                got = await asyncio.gather(*(remote(*case) for case in CASES))
            except BaseException:
                print("".join(server.lines), file=sys.stderr)
                await print_failed_pods(core, f"{prefix}-default-development")
                raise
        for case, want, have in zip(CASES, expected, got, strict=True):
            assert have == want, case
        namespace = f"{prefix}-default-development"
        pods = (await core.list_namespaced_pod(namespace)).items
        assert len(pods) >= len(CASES)
        print(f"{len(pods)} pods ran the examples' tasks")
        assert {pod.status.phase for pod in pods} == {"Succeeded"}
        command = pods[0].spec.containers[0].command
        assert command[3] == "execute" and "--bundle" in command  # the registered code, from its bundle
    finally:
        await remove_namespaces(core, prefix)
