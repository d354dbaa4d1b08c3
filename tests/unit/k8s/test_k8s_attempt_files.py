"""The pod the k8s plugin makes and ``wingspan execute`` inside it agree on where an attempt's
files are (core's AttemptFiles): the plugin reads back exactly what the command wrote."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wingspan_k8s import K8sConfig, K8sPlugin
from wingspan_k8s._pods import Attempt, build_pod
from wingspan_k8s._status import PodState

from wingspan._runner.run import SdkResolver, SdkTaskRunner
from wingspan.core.engine.attempt_files import AttemptFiles
from wingspan.core.model import codec
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.interface import Identifier, ResourceType
from wingspan.core.model.tasks import CodeReference, Container, TaskTemplate
from wingspan.core.plugins.contract import TaskContext, TaskStatus
from wingspan.core.storage.local import LocalBlobStore

# `wingspan execute` imports the task module by the bare name it runs under (its folder is on
# sys.path, as for test_cli_execute); mypy knows it by its dotted path
if TYPE_CHECKING:
    from tests.unit.k8s import execute_tasks as tasks
else:
    import execute_tasks as tasks
from wingspan.core.types import TransferContext, default_engine

HERE = Path(__file__).resolve().parent


def _run_in_pod(tmp_path: Path, task: Any, inputs: dict[str, Any], state: PodState) -> TaskStatus:
    """Makes the plugin's pod for ``task``, runs its command here, and has the plugin read the
    attempt's end as it would once the pod is in ``state``."""
    store = LocalBlobStore(tmp_path / "blobs")
    prefix = store.uri("data", "exec-1", "n3", "2")
    files = AttemptFiles(prefix)
    qualname = task.name.rpartition(".")[2]
    template = TaskTemplate(id=Identifier(ResourceType.TASK, "p", "d", f"execute_tasks.{qualname}", "v1"),
                            type="python", container=Container(image="", env=()),
                            code=CodeReference("execute_tasks", qualname, ""))
    runner = SdkTaskRunner(task, SdkResolver({}))
    transfer = TransferContext(store, prefix)
    literals = asyncio.run(default_engine().to_literal_map(inputs, runner.input_types, transfer))
    asyncio.run(store.put(files.inputs, codec.encode(literals)))  # what the plugin's start writes
    pod = build_pod(K8sConfig(default_image="repo/wingspan:1"),
                    Attempt(template, "exec-1", "n3", 2, "p-d", "pod", files.inputs, prefix))
    (container,) = pod["spec"]["containers"]
    assert container["command"][:2] == ["wingspan", "execute"]
    env = {**os.environ, "PYTHONPATH": str(HERE), "WINGSPAN_HOME": str(tmp_path / "home")}
    subprocess.run([sys.executable, "-m", "wingspan.cli", *container["command"][1:]], env=env, cwd=tmp_path,
                   capture_output=True, text=True, timeout=120, check=False)
    handle = {"namespace": "p-d", "pod": "pod", "output_prefix": prefix, "log_container": "task",
              "execution_id": "exec-1", "node_id": "n3", "attempt": 2, "project": "p", "domain": "d"}
    ctx = TaskContext(template, literals, "exec-1", "n3", 2, transfer=transfer)
    status: TaskStatus = asyncio.run(K8sPlugin(K8sConfig())._status(ctx, handle, state))
    return status


def test_the_plugin_reads_the_outputs_wingspan_execute_wrote(tmp_path: Path) -> None:
    status = _run_in_pod(tmp_path, tasks.scale, {"values": [1.0, 2.5], "factor": 3.0},
                         PodState(TaskPhase.SUCCEEDED, read_outputs=True))
    assert status.phase == TaskPhase.SUCCEEDED, status
    assert status.outputs is not None
    runner = SdkTaskRunner(tasks.scale, SdkResolver({}))
    values = asyncio.run(default_engine().to_python_map(status.outputs, runner.output_types))
    assert values == {"o0": [3.0, 7.5], "o1": "exec-1/n3/2"}


def test_the_plugin_reads_the_error_wingspan_execute_wrote(tmp_path: Path) -> None:
    reason = "bad input"
    status = _run_in_pod(tmp_path, tasks.refuse, {"reason": reason},
                         PodState(TaskPhase.FAILED, reason="Error", read_error=True))
    assert status.error is not None
    assert status.error.code == "USER:NonRetryableError" and reason in status.error.message


def test_the_plugin_lists_the_report_wingspan_execute_stored(tmp_path: Path) -> None:
    succeeded = _run_in_pod(tmp_path / "ok", tasks.reports, {"x": 4},
                            PodState(TaskPhase.SUCCEEDED, read_outputs=True))
    failed = _run_in_pod(tmp_path / "failed", tasks.reports, {"x": -1},
                         PodState(TaskPhase.FAILED, reason="Error", read_error=True))
    for status, root in ((succeeded, tmp_path / "ok"), (failed, tmp_path / "failed")):
        (report,) = [log.uri for log in status.logs if log.name == "report"]
        assert report == AttemptFiles(LocalBlobStore(root / "blobs").uri("data", "exec-1", "n3", "2")).report
        assert "<h2>made in a pod</h2>" in asyncio.run(LocalBlobStore(root / "blobs").get(report)).decode()
    plain = _run_in_pod(tmp_path / "plain", tasks.scale, {"values": [1.0]}, PodState(TaskPhase.SUCCEEDED,
                                                                                    read_outputs=True))
    assert [log.name for log in plain.logs] == ["pod"]
