"""Tasks the Kubernetes plugin's tests run as pods: at module level, so ``wingspan execute``
in a pod (a local process of the node agent) imports them by name. No tests here."""

from __future__ import annotations

import os
import time
from pathlib import Path

from wingspan_k8s import K8sPod

from wingspan import ContainerTask, File, NonRetryableError, Resources, Secret, current_context, task


@task
def add(a: int, b: int) -> int:
    print(f"adding {a} and {b}")
    return a + b


@task
def describe(name: str, scores: list[float]) -> tuple[str, float]:
    return f"{name} ({current_context().node_id}, attempt {current_context().attempt})", sum(scores)


@task
def write_file(text: str) -> File:
    path = Path(current_context().scratch_dir) / "out.txt"
    path.write_text(text)
    return File(str(path))


@task
def read_file(f: File) -> str:
    with f.open() as handle:
        return str(handle.read())


@task
def fails(message: str) -> int:
    raise NonRetryableError(message)


@task(retries=2)
def flaky(marker: str) -> str:
    """Fails on its first attempt (the marker file says whether one ran), then succeeds."""
    path = Path(marker)
    if not path.exists():
        path.write_text("failed once")
        raise RuntimeError("the first attempt fails")
    return f"attempt {current_context().attempt}"


@task
def slow(seconds: float) -> float:
    print("started", flush=True)
    time.sleep(seconds)
    return seconds


@task(secrets=[Secret("db-creds", "password", mount="env"), Secret("db-creds", "token", mount="file")])
def secret_reader(x: int) -> str:
    secrets = current_context().secrets
    return f"{secrets.get('db-creds', 'password')}/{secrets.get('db-creds', 'token')}"


@task
def environment(name: str) -> str:
    return os.environ.get(name, "")


@task(requests=Resources(cpu="250m", mem="64Mi"), limits=Resources(mem="128Mi", gpu=1), interruptible=True,
      task_config=K8sPod(pod_template={
          "metadata": {"labels": {"cost-center": "42"}},
          "spec": {"containers": [{"name": "primary", "env": [{"name": "FROM_TASK", "value": "yes"}]}]}}))
def shaped(name: str) -> str:
    return f"{name}: {os.environ['FROM_CONFIG']}, {os.environ['FROM_TASK']}"


square_sum = ContainerTask(
    "square_sum", image="busybox:1.36",
    command=["/bin/sh", "-c", "echo $(( {{.inputs.a}} * {{.inputs.a}} + $(cat {{.inputDir}}/b) )) "
             "> {{.outputDir}}/total; echo 'from {{.inputs.label}}' > {{.outputDir}}/note"],
    inputs={"a": int, "b": int, "label": str}, outputs={"total": int, "note": str},
)

container_fails = ContainerTask(
    "container_fails", image="busybox:1.36", command=["/bin/sh", "-c", "echo broken >&2; exit 7"],
    inputs={"a": int}, outputs={"total": int},
)
