"""The Kubernetes targets of the Spark, Dask, Ray and MPI plugins take their cluster settings
from the same configuration as their own tables: a ``--config`` file's ``[plugins.k8s]``
reaches ``spark-k8s``, ``dask-k8s``, ``ray-k8s`` and ``mpi-k8s`` (a hook is given only its
own plugin's table, so these targets once read ``[plugins.k8s]`` from the default file and
the environment only, and a served ``--config`` file's cluster never reached them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wingspan.core.config import Settings
from wingspan.core.plugins.manager import load_plugins

TARGETS = ("spark-k8s", "dask-k8s", "ray-k8s", "mpi-k8s")


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("WINGSPAN_CONFIG", "WINGSPAN_K8S_CONFIG", "WINGSPAN_K8S_NAMESPACE_TEMPLATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WINGSPAN_HOME", str(tmp_path / "home"))  # no default file of the machine's
    path = tmp_path / "wingspan.toml"
    path.write_text(f'''
[plugins.k8s]
kubeconfig = "{tmp_path / "cluster.yaml"}"
namespace_template = "batch-{{project}}"
default_image = "registry.local/wingspan:7"
log_links = {{ logs = "https://logs.local/{{namespace}}/{{pod}}" }}

[plugins.spark]
k8s_image = "registry.local/spark:4"
''')
    return path


def test_a_config_files_k8s_table_reaches_every_custom_object_target(config_file: Path) -> None:
    plugins = load_plugins(settings=Settings.load(config_file=config_file))
    assert not plugins.failed, plugins.failed
    targets = {plugin.name: plugin for plugin in plugins.task_plugins if plugin.name in TARGETS}
    assert sorted(targets) == sorted(TARGETS)
    for name, target in targets.items():
        k8s = target.config  # type: ignore[attr-defined]  # a CustomObjectPlugin's cluster settings
        assert k8s.kubeconfig == str(config_file.parent / "cluster.yaml"), name
        assert k8s.namespace_template == "batch-{project}", name
        assert k8s.default_image == "registry.local/wingspan:7", name
        assert k8s.log_links == {"logs": "https://logs.local/{namespace}/{pod}"}, name
    assert targets["spark-k8s"].spark.k8s_image == "registry.local/spark:4"  # type: ignore[attr-defined]


def test_the_plugins_own_variables_still_count_over_the_file(config_file: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINGSPAN_K8S_NAMESPACE_TEMPLATE", "env-{project}")
    plugins = load_plugins(settings=Settings.load(config_file=config_file))
    [ray] = [plugin for plugin in plugins.task_plugins if plugin.name == "ray-k8s"]
    assert ray.config.namespace_template == "env-{project}"  # type: ignore[attr-defined]
    assert ray.config.default_image == "registry.local/wingspan:7"  # type: ignore[attr-defined]
