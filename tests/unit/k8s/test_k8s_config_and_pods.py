"""The Kubernetes plugin without a cluster: its configuration (the platform's [plugins.k8s]
table, its own TOML file and variables, errors naming plugin and key), the pods it builds
(names and labels the API server accepts, resources with GPUs, secrets, templates merged by
container name, the container task's stage/task/collect sequence), how pod states read as
attempt states, and its
discovery through the entry point without loading the Kubernetes client."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wingspan_k8s import K8sConfig
from wingspan_k8s._pods import Attempt, build_pod, label_value, merge_pod, namespace_name, pod_name
from wingspan_k8s._status import classify

from wingspan.core.config import Settings
from wingspan.core.errors import ConfigError
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.literals import ErrorKind
from wingspan.core.model.record import replace
from wingspan.core.model.tasks import (
    CodeReference,
    Container,
    Resources,
    ResourceSet,
    Secret,
    SecretMount,
    TaskMetadata,
    TaskTemplate,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


# ---- configuration -----------------------------------------------------------------------------


def test_config_layers_toml_then_environment_then_arguments(tmp_path: Path) -> None:
    path = tmp_path / "wingspan.toml"
    path.write_text('[plugins.k8s]\ndefault-image = "repo/img:1"\npending_timeout_seconds = 30\n'
                    'env = { A = "from-toml" }\nresource_quota = { pods = "10" }\n')
    env = {"WINGSPAN_K8S_CONFIG": str(path), "WINGSPAN_K8S_PENDING_TIMEOUT_SECONDS": "45",
           "WINGSPAN_K8S_ENV": '{"A": "from-env"}', "WINGSPAN_K8S_EXECUTE_COMMAND": '["w", "execute"]'}
    config = K8sConfig.load(env, node_name="node-1")
    assert config.default_image == "repo/img:1"
    assert config.pending_timeout_seconds == 45.0
    assert config.env == {"A": "from-env"} and config.resource_quota == {"pods": "10"}
    assert config.execute_command == ["w", "execute"] and config.node_name == "node-1"


def _k8s_of(settings: Settings) -> Any:
    from wingspan.core.plugins.manager import load_plugins

    found = load_plugins(settings=settings)
    return next(t for t in found.task_plugins if t.name == "k8s")


def test_the_platform_config_file_and_variables_configure_the_plugin(tmp_path: Path) -> None:
    path = tmp_path / "wingspan.toml"
    path.write_text('task_targets = "python=k8s"\n[plugins.k8s]\nnode-name = "node-7"\n'
                    'labels = { team = "ml" }\npending_timeout_seconds = 30\n')
    settings = Settings.load(config_file=path, env={"WINGSPAN_PLUGINS__K8S__ABORT_GRACE_SECONDS": "9"})
    config = _k8s_of(settings).config
    assert (config.node_name, config.labels) == ("node-7", {"team": "ml"})
    assert config.pending_timeout_seconds == 30.0
    assert config.abort_grace_seconds == 9
    # K8sConfig.load reads the same layers (what tests and tools without discovery use)
    assert K8sConfig.load({}, settings=settings) == config


def test_the_plugins_own_variables_still_count_over_the_platform_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wingspan.toml"
    path.write_text('[plugins.k8s]\nnode_name = "from-table"\ndefault_image = "img:table"\n')
    monkeypatch.setenv("WINGSPAN_K8S_NODE_NAME", "from-own-variable")
    config = _k8s_of(Settings.load(config_file=path, env={})).config
    assert (config.node_name, config.default_image) == ("from-own-variable", "img:table")


def test_a_bad_value_in_the_platform_table_stops_discovery_naming_plugin_and_key(tmp_path: Path) -> None:
    path = tmp_path / "wingspan.toml"
    path.write_text("[plugins.k8s]\nabort_grace_seconds = 'soon'\n")
    with pytest.raises(ConfigError, match=r"plugin 'k8s': invalid value 'soon' for 'abort_grace_seconds' "
                                          r"\(key 'abort_grace_seconds' of \[plugins.k8s\] in .*\): "
                                          r"expected an integer"):
        _k8s_of(Settings.load(config_file=path, env={}))


def test_an_unknown_setting_is_refused_naming_the_valid_ones(tmp_path: Path) -> None:
    path = tmp_path / "wingspan.toml"
    path.write_text("[plugins.k8s]\nimage = 'x'\n")
    with pytest.raises(ConfigError, match=r"plugin 'k8s' has no setting 'image'.*settings: .*default_image"):
        K8sConfig.load({"WINGSPAN_K8S_CONFIG": str(path)})


def test_a_malformed_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="WINGSPAN_K8S_ENV"):
        K8sConfig.load({"WINGSPAN_K8S_ENV": "[1, 2"})
    with pytest.raises(ConfigError, match="expected a table"):
        K8sConfig.load({"WINGSPAN_K8S_LABELS": "[1, 2]"})


# ---- pods ------------------------------------------------------------------------------------


def template(**changes: Any) -> TaskTemplate:
    base = TaskTemplate(id=Identifier(ResourceType.TASK, "Proj", "development", "my_module.train", "v1"),
                        type="python", metadata=TaskMetadata(retries=1),
                        container=Container(image="", env=()),
                        code=CodeReference("my_module", "train", "s3://b/bundle.tar.gz"))
    return replace(base, **changes)


def attempt(task: TaskTemplate | None = None, **changes: Any) -> Attempt:
    values: dict[str, Any] = {
        "template": task or template(), "execution_id": "Proj/development/" + "x" * 70,
        "node_id": "n1/dn0/sub-node_with.dots", "attempt": 2, "namespace": "proj-development",
        "name": pod_name("e", "n1", 2), "inputs_uri": "s3://b/in.pb", "output_prefix": "s3://b/out",
    }
    return Attempt(**{**values, **changes})


def test_names_and_labels_are_what_the_api_server_accepts() -> None:
    config = K8sConfig()
    assert namespace_name(config, "My_Project", "Production") == "my-project-production"
    name = pod_name("proj/dev/Exec_ABC", "n1/dn0/sub.node", 12)
    assert DNS_LABEL.match(name) and len(name) <= 63
    assert pod_name("proj/dev/Exec_ABC", "n1/dn0/sub.node", 12) == name != pod_name("p", "n1", 12)
    for text in ("x" * 100, "a/b c", "-starts-with-dash-", "n1/dn0/sub-node_with.dots"):
        value = label_value(text)
        assert LABEL_VALUE.match(value) and len(value) <= 63, value
    pod = build_pod(config, attempt())
    for value in pod["metadata"]["labels"].values():
        assert LABEL_VALUE.match(value) and len(value) <= 63
    annotations = pod["metadata"]["annotations"]
    assert annotations["wingspan.io/execution-id"] == "Proj/development/" + "x" * 70  # whole, unshortened


def test_a_python_task_runs_wingspan_execute_with_its_code_reference() -> None:
    pod = build_pod(K8sConfig(default_image="repo/wingspan:1"), attempt(timeout=90.5))
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "repo/wingspan:1"
    command = container["command"]
    assert command[:2] == ["wingspan", "execute"]
    pairs = dict(zip(command[2::2], command[3::2], strict=True))
    assert pairs == {"--module": "my_module", "--qualname": "train", "--inputs": "s3://b/in.pb",
                     "--output-prefix": "s3://b/out", "--execution-id": "Proj/development/" + "x" * 70,
                     "--node-id": "n1/dn0/sub-node_with.dots", "--attempt": "2",
                     "--bundle": "s3://b/bundle.tar.gz"}
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["activeDeadlineSeconds"] == 91


def test_gpus_are_an_extended_resource_with_requests_equal_to_limits() -> None:
    resources = Resources(ResourceSet(cpu="2", memory="4Gi", gpu="2"), ResourceSet(memory="8Gi"))
    task = template(container=Container(image="repo/train:3", resources=resources))
    (container,) = build_pod(K8sConfig(), attempt(task))["spec"]["containers"]
    assert container["image"] == "repo/train:3"
    assert container["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "2"},
        "limits": {"memory": "8Gi", "nvidia.com/gpu": "2"}}


def test_secrets_become_secret_key_refs_and_one_volume_per_group() -> None:
    secrets = (Secret("db", "password", SecretMount.ENV), Secret("db", "cert", SecretMount.FILE),
               Secret("db", "key", SecretMount.FILE), Secret("Api_Keys", "openai", SecretMount.ANY))
    pod = build_pod(K8sConfig(secrets_dir="/s"), attempt(template(secrets=secrets)))
    container = pod["spec"]["containers"][0]
    env = {item["name"]: item for item in container["env"]}
    assert env["WINGSPAN_SECRET_DB_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "db", "key": "password"}}
    assert env["WINGSPAN_SECRET_API_KEYS_OPENAI"]["valueFrom"]["secretKeyRef"]["name"] == "api-keys"
    assert env["WINGSPAN_SECRETS_DIR"]["value"] == "/s"
    (volume,) = pod["spec"]["volumes"]
    assert volume["secret"] == {"secretName": "db", "items": [{"key": "cert", "path": "cert"},
                                                              {"key": "key", "path": "key"}]}
    assert container["volumeMounts"] == [{"name": volume["name"], "mountPath": "/s/db", "readOnly": True}]


def test_interruptible_tasks_get_the_configured_placement_and_others_do_not() -> None:
    config = K8sConfig(interruptible_tolerations=[{"key": "spot", "operator": "Exists"}],
                       interruptible_node_selector={"pool": "spot"})
    spot = build_pod(config, attempt(template(metadata=TaskMetadata(interruptible=True))))["spec"]
    assert spot["tolerations"] == [{"key": "spot", "operator": "Exists"}]
    assert spot["nodeSelector"] == {"pool": "spot"}
    regular = build_pod(config, attempt())["spec"]
    assert "tolerations" not in regular and "nodeSelector" not in regular


def test_templates_merge_under_the_pod_by_container_name() -> None:
    config_template = {"metadata": {"labels": {"team": "ml"}},
                       "spec": {"schedulerName": "batch", "volumes": [{"name": "cache", "emptyDir": {}}],
                                "containers": [{"name": "primary", "image": "ignored:1",
                                                "env": [{"name": "A", "value": "config"},
                                                        {"name": "WINGSPAN_ATTEMPT", "value": "no"}]},
                                               {"name": "sidecar", "image": "proxy:1"}]}}
    task_template = {"spec": {"containers": [{"name": "primary", "env": [{"name": "A", "value": "task"}],
                                              "volumeMounts": [{"name": "cache", "mountPath": "/c"}]}]}}
    pod = build_pod(K8sConfig(pod_template=config_template, default_image="w:1"),
                    attempt(task_pod_template=task_template))
    spec = pod["spec"]
    assert spec["schedulerName"] == "batch" and pod["metadata"]["labels"]["team"] == "ml"
    assert [c["name"] for c in spec["containers"]] == ["task", "sidecar"]
    task = spec["containers"][0]
    env = {item["name"]: item.get("value") for item in task["env"]}
    assert env["A"] == "task" and env["WINGSPAN_ATTEMPT"] == "2"  # the plugin's own values win
    assert task["image"] == "w:1" and task["volumeMounts"] == [{"name": "cache", "mountPath": "/c"}]
    assert spec["volumes"] == [{"name": "cache", "emptyDir": {}}]
    assert merge_pod({}, {"a": 1}) == {"a": 1}


def test_a_container_task_stages_runs_and_collects_in_order() -> None:
    task = template(type="container", code=None, container=Container(
        image="busybox:1", command=("sh", "-c", "cat /in/x > /out/y"), input_dir="/in", output_dir="/out"))
    pod = build_pod(K8sConfig(copilot_image="copilot:1", copilot_command=["copilot"]),
                    attempt(task, task_uri="s3://b/task.pb", command=["sh", "-c", "cat /in/x > /out/y"]))
    spec = pod["spec"]
    stage, user = spec["initContainers"]
    (collect,) = spec["containers"]
    assert (stage["name"], user["name"], collect["name"]) == ("stage", "task", "collect")
    assert stage["image"] == collect["image"] == "copilot:1" and user["image"] == "busybox:1"
    assert stage["command"][:2] == ["copilot", "stage"] and collect["command"][:2] == ["copilot", "collect"]
    assert user["command"] == ["sh", "-c", "cat /in/x > /out/y"]
    mounts = {m["mountPath"] for m in user["volumeMounts"]}
    assert mounts == {"/in", "/out"}
    assert {v["name"] for v in spec["volumes"]} == {"wingspan-inputs", "wingspan-outputs"}


# ---- pod states ------------------------------------------------------------------------------------


def pod(phase: str, *statuses: dict[str, Any], reason: str = "", node: str = "n") -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"nodeName": node},
            "status": {"phase": phase, "reason": reason, "containerStatuses": list(statuses)}}


def state(phase: str, *statuses: dict[str, Any], reason: str = "", waited: float = 0.0,
          pull_for: float = 0.0) -> Any:
    return classify(pod(phase, *statuses, reason=reason), "n0", waited=waited, pull_error_for=pull_for,
                    pending_timeout=60, pull_grace=10, main_container="task")


def waiting(reason: str) -> dict[str, Any]:
    return {"name": "task", "state": {"waiting": {"reason": reason, "message": "m"}}}


def terminated(code: int, reason: str = "Error") -> dict[str, Any]:
    return {"name": "task", "state": {"terminated": {"exitCode": code, "reason": reason}}}


def test_pod_states_read_as_attempt_states() -> None:
    assert state("Pending").phase == TaskPhase.QUEUED
    assert state("Pending", waited=61).error.code == "PodPendingTimeout"
    assert state("Running", {"name": "task", "state": {"running": {}}}).phase == TaskPhase.RUNNING
    assert state("Succeeded", terminated(0, "Completed")).read_outputs


def test_image_and_configuration_problems_fail_after_the_grace_unless_hopeless() -> None:
    assert state("Pending", waiting("ErrImagePull"), pull_for=5).phase == TaskPhase.QUEUED
    pulled = state("Pending", waiting("ImagePullBackOff"), pull_for=11)
    assert pulled.error.retryable and pulled.error.kind == ErrorKind.USER
    invalid = state("Pending", waiting("InvalidImageName"))
    assert invalid.phase == TaskPhase.FAILED and not invalid.error.retryable
    missing = state("Pending", waiting("CreateContainerConfigError"), pull_for=11)
    assert not missing.error.retryable and "Secret or ConfigMap" in missing.error.message


def test_failed_pods_say_why() -> None:
    evicted = state("Failed", reason="Evicted")
    assert evicted.error.code == "Evicted" and evicted.error.kind == ErrorKind.SYSTEM
    assert state("Failed", reason="DeadlineExceeded").phase == TaskPhase.TIMED_OUT
    oom = state("Failed", terminated(137, "OOMKilled"))
    assert oom.error.code == "OOMKilled" and "ran out of memory" in oom.error.message
    failed = state("Failed", terminated(3))
    assert failed.error.code == "ContainerFailed:3" and failed.read_error
    gone: Any = classify(None, "n0", waited=0, pull_error_for=0, pending_timeout=0, pull_grace=0,
                         main_container="task")
    assert gone.error.code == "PodDeleted" and gone.error.retryable


# ---- discovery -----------------------------------------------------------------------------------


def test_plugins_list_shows_the_k8s_plugin() -> None:
    done = subprocess.run([sys.executable, "-m", "wingspan.cli", "plugins", "list", "-o", "json"],
                          capture_output=True, text=True, timeout=120, check=True)
    loaded = {p["name"]: p for p in json.loads(done.stdout)["loaded"]}
    assert loaded["k8s"]["distribution"] == "wingspan-k8s"
    assert loaded["k8s"]["provides"]["task plugins"] == ["k8s (python, container)"]


def test_discovery_loads_neither_the_kubernetes_client_nor_the_plugins_own_variables() -> None:
    # the platform's [plugins.k8s] table is checked at discovery; WINGSPAN_K8S_* on first use
    code = ("import sys; from wingspan.core.plugins.manager import load_plugins; p = load_plugins(); "
            "k8s = [t for t in p.task_plugins if t.name == 'k8s'][0]; "
            "print('kubernetes_asyncio' in sys.modules, k8s._config is None)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=True, env={"PATH": "", "WINGSPAN_K8S_ENV": "not json"})
    assert done.stdout.split() == ["False", "True"]


def test_a_traced_attempts_pod_carries_its_trace_context_and_an_untraced_one_none() -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    (traced,) = build_pod(K8sConfig(), attempt(traceparent=parent))["spec"]["containers"]
    (plain,) = build_pod(K8sConfig(), attempt())["spec"]["containers"]
    assert {"name": "TRACEPARENT", "value": parent} in traced["env"]
    assert all(item["name"] != "TRACEPARENT" for item in plain["env"])
