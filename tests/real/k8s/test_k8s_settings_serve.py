"""Issue #25 item 2 end to end: a project's settings (labels, annotations, service account,
namespace template, interruptible) set with `wingspan project settings`, and an execution run
with `wingspan run --remote` against `wingspan serve` with Python tasks as pods: the pod the API
server stores carries them (interruptible as the configured toleration and node selector)."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from kubernetes_asyncio.client import CoreV1Api

from tests.k8s_agent import NodeAgent
from tests.k8s_agent.cluster import KubeApiserver
from tests.unit.api.served import wingspan_serve

# pytest imports this folder's modules by bare name (see test_k8s_plugin_cluster)
if TYPE_CHECKING:
    from tests.real.k8s import test_k8s_plugin_serve as examples
else:
    import test_k8s_plugin_serve as examples

pytestmark = [pytest.mark.real, pytest.mark.slow]

FLOW = '''
from wingspan import task, workflow


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def placed(x: int) -> int:
    return double(x=x)
'''
SPOT = {"key": "spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


async def test_a_projects_settings_reach_its_pods_through_wingspan_serve(
        kube_apiserver: KubeApiserver, node_agent: NodeAgent, core: CoreV1Api, tmp_path: Path) -> None:
    prefix = f"p{uuid.uuid4().hex[:8]}"
    flows = tmp_path / "project" / "placed_flows.py"
    flows.parent.mkdir()
    flows.write_text(FLOW)
    env = {
        "WINGSPAN_HOME": str(tmp_path / "home"), "WINGSPAN_TASK_TARGETS": "python=k8s",
        "WINGSPAN_PLUGINS__K8S__KUBECONFIG": str(kube_apiserver.kubeconfig),
        "WINGSPAN_PLUGINS__K8S__NODE_NAME": node_agent.node_names[0],
        # the deployment's namespaces: the project's template must win over it
        "WINGSPAN_PLUGINS__K8S__NAMESPACE_TEMPLATE": prefix + "-config-{project}",
        "WINGSPAN_PLUGINS__K8S__INTERRUPTIBLE_TOLERATIONS": json.dumps([SPOT]),
        "WINGSPAN_PLUGINS__K8S__INTERRUPTIBLE_NODE_SELECTOR": json.dumps({"pool": "spot"}),
        "WINGSPAN_PLUGINS__K8S__LABELS": json.dumps({"team": "platform", "tier": "batch"}),
        "WINGSPAN_PLUGINS__K8S__EXECUTE_COMMAND": json.dumps(
            [sys.executable, "-m", "wingspan.cli", "execute"]),
        "WINGSPAN_PLUGINS__K8S__ENV": json.dumps({"WINGSPAN_HOME": str(tmp_path / "pod-home")}),
        "WINGSPAN_PLUGINS__K8S__CLEANUP_AFTER_SECONDS": "-1",
    }
    namespace = f"{prefix}-default-development-ml"
    try:
        async with wingspan_serve(env=env) as (server, _, grpc_host, grpc_port):
            where = {"WINGSPAN_ENDPOINT": f"{grpc_host}:{grpc_port}",
                     "WINGSPAN_HOME": str(tmp_path / "client")}
            code, _, err = await examples.wingspan(
                "project", "settings", "default", "--set", "labels.team=vision",
                "--set", "annotations.owner=ada", "--set", "service_account=trainer",
                "--set", f"namespace_template={prefix}-{{project}}-{{domain}}-ml",
                "--set", "interruptible=yes", env=where)
            assert code == 0, err
            try:
                code, out, err = await examples.wingspan("run", "--remote", str(flows), "placed", "--x", "21",
                                                         env=where)
                assert (code, out.strip()) == (0, "42"), err
            except BaseException:
                print("".join(server.lines), file=sys.stderr)
                await examples.print_failed_pods(core, namespace)
                raise
        pods: list[Any] = (await core.list_namespaced_pod(namespace)).items
        assert len(pods) == 1, [p.metadata.name for p in pods]
        pod = pods[0]
        # the project's label over the deployment's of the same key; the deployment's other kept
        assert (pod.metadata.labels["team"], pod.metadata.labels["tier"]) == ("vision", "batch")
        assert pod.metadata.labels["app.kubernetes.io/managed-by"] == "wingspan"
        assert pod.metadata.annotations["owner"] == "ada"
        assert pod.spec.service_account_name == "trainer"
        assert pod.spec.node_selector == {"pool": "spot"}
        # the API server adds its default tolerations (not-ready, unreachable) beside ours
        spot = [(t.value, t.effect) for t in pod.spec.tolerations if t.key == "spot"]
        assert spot == [("true", "NoSchedule")]
        assert pod.status.phase == "Succeeded"
    finally:
        await examples.remove_namespaces(core, prefix)
