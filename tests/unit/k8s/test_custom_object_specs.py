"""The custom objects of the Spark and Dask Kubernetes targets, without a cluster: the schema
check that refuses a wrong object before the API server, the objects the targets build for
an attempt, and what each operator's status means for the attempt."""

from __future__ import annotations

from typing import Any

import pytest
from wingspan_dask import DaskConfig
from wingspan_dask._daskjob_crd import DASK_JOB
from wingspan_dask._kubernetes import DaskK8sTarget, job_state
from wingspan_k8s import K8sConfig
from wingspan_k8s._schema import problems
from wingspan_k8s.custom_objects import Attempt, InvalidObjectError
from wingspan_spark import Spark
from wingspan_spark._application_crd import SPARK_APPLICATION
from wingspan_spark._config import SparkPluginConfig
from wingspan_spark._kubernetes import DRIVER_CONTAINER, SparkK8sTarget, application_state
from wingspan_spark._session import submitted_conf

from wingspan import task
from wingspan.core.model.execution import TaskPhase
from wingspan.core.model.literals import ErrorKind, LiteralMap
from wingspan.core.plugins.contract import TaskContext
from wingspan.core.plugins.registry import TaskPluginRegistry

K8S = K8sConfig(kubeconfig="/nowhere", node_name="node-a", env={"PYTHONPATH": "/code"},
                service_account="runner", cleanup_after_seconds=600)


@task(task_config=Spark(executor_instances=3, executor_cores=2, executor_memory="2g",
                        hadoop_conf={"fs.s3a.path.style.access": "true"}))
def spark_body(n: int) -> int:
    return n


def attempt_of(template: Any) -> tuple[TaskContext, Attempt]:
    ctx = TaskContext(template, LiteralMap({}), "exec-1", "n0", 2, None)
    return ctx, Attempt(template, "exec-1", "n0", 2, "default-development", "exec-1-n0-2-abc", "file:///b/in.pb",
                        "file:///b/out")


# ---- the schema check --------------------------------------------------------------------------


def test_the_schema_check_names_every_problem_by_its_path() -> None:
    schema = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "count": {"type": "integer", "minimum": 1},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "port": {"x-kubernetes-int-or-string": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "when": {"type": "string", "nullable": True}}}
    good = {"name": "ok", "count": 2, "mode": "a", "tags": ["x"], "labels": {"k": "v"}, "port": "http",
            "free": {"anything": [1, {"goes": True}]}, "when": None}
    assert problems(schema, good) == []
    found = problems(schema, {"count": True, "mode": "c", "tags": ["x", 3], "labels": {"k": 1}, "port": 1.5,
                              "extra": 1, "when": 3})
    assert found == [
        "name: is required",
        "count: expected an integer, got True",
        'mode: "c" is not one of "a", "b"',
        "tags[1]: expected a string, got 3",
        "labels.k: expected a string, got 1",
        "port: expected an integer or a string, got 1.5",
        "extra: unknown field (known here: count, free, labels, mode, name, port, tags, when)",
        "when: expected a string, got 3",
    ]
    assert problems(schema, {"name": "Bad", "count": 0}) == [
        "name: \"Bad\" does not match '^[a-z]+$'", "count: 0 is below the minimum 1"]


# ---- Spark --------------------------------------------------------------------------------------


def test_the_spark_application_of_an_attempt() -> None:
    target = SparkK8sTarget(SparkPluginConfig(k8s_main_application_file="local:///app/driver.py"), K8S)
    ctx, attempt = attempt_of(spark_body.template)
    spec = target.build_spec(ctx, attempt)
    SPARK_APPLICATION.check(spec, "spark_body")  # fits the schema
    assert spec["type"] == "Python" and spec["mode"] == "cluster" and spec["sparkVersion"] == "4.0.0"
    assert spec["mainApplicationFile"] == "local:///app/driver.py"
    assert spec["image"] == K8S.default_image and spec["timeToLiveSeconds"] == 600
    arguments = spec["arguments"]
    code = spark_body.template.code
    assert code is not None and arguments[:2] == ["--module", code.module]
    assert arguments[arguments.index("--attempt") + 1] == "2"
    assert arguments[arguments.index("--output-prefix") + 1] == "file:///b/out"
    assert spec["executor"]["instances"] == 3 and spec["executor"]["cores"] == 2
    assert spec["executor"]["memory"] == "2g" and spec["driver"]["memory"] == "1g"
    assert spec["driver"]["serviceAccount"] == "runner"
    assert spec["hadoopConf"] == {"fs.s3a.path.style.access": "true"}
    assert {"name": "PYTHONPATH", "value": "/code"} in spec["driver"]["env"]
    assert spec["driver"]["labels"]["wingspan.io/attempt"] == "2"


def test_spark_application_settings_merge_over_the_spec_and_are_checked() -> None:
    target = SparkK8sTarget(SparkPluginConfig(k8s_application={"driver": {"coreLimit": "1200m"},
                                                               "executor": {"instances": "many"}}), K8S)
    ctx, attempt = attempt_of(spark_body.template)
    spec = target.build_spec(ctx, attempt)
    assert spec["driver"]["coreLimit"] == "1200m" and spec["driver"]["memory"] == "1g"
    wrong = r'spec\.executor\.instances: expected an integer, got "many"'
    with pytest.raises(InvalidObjectError, match=wrong):
        SPARK_APPLICATION.check(spec, "spark_body")


@pytest.mark.parametrize(("state", "phase"), [
    ("", TaskPhase.QUEUED), ("SUBMITTED", TaskPhase.QUEUED), ("PENDING_RERUN", TaskPhase.QUEUED),
    ("RUNNING", TaskPhase.RUNNING), ("SUCCEEDING", TaskPhase.RUNNING), ("FAILING", TaskPhase.RUNNING),
    ("COMPLETED", TaskPhase.SUCCEEDED), ("FAILED", TaskPhase.FAILED),
    ("SUBMISSION_FAILED", TaskPhase.FAILED)])
def test_spark_application_states(state: str, phase: TaskPhase) -> None:
    assert application_state({"status": {"applicationState": {"state": state}}}, "n0").phase == phase


def test_spark_failures_are_named() -> None:
    def failed(state: str, message: str) -> Any:
        found = application_state({"status": {"applicationState": {"state": state, "errorMessage": message}}},
                                  "n0")
        assert found.error is not None
        return found

    lost = failed("FAILED", "driver pod not found")
    assert lost.error.code == "SparkDriverLost" and lost.error.kind == ErrorKind.SYSTEM
    assert lost.error.retryable
    app = failed("FAILED", "driver container failed with ExitCode: 1, Reason: Error")
    assert app.error.code == "SparkApplicationFailed" and app.read_error  # the task's own error.pb wins
    assert "ExitCode: 1" in app.error.message
    submit = failed("SUBMISSION_FAILED", "failed to run spark-submit")
    assert submit.error.code == "SparkSubmissionFailed" and "spark-submit" in submit.error.message
    # no status yet: the operator has not seen it
    assert application_state({}, "n0").phase == TaskPhase.QUEUED
    assert application_state({"status": {"applicationState": {"state": "COMPLETED"}}}, "n0").read_outputs


def test_spark_logs_come_from_the_driver_pod() -> None:
    target = SparkK8sTarget(SparkPluginConfig(), K8S)
    assert target.log_source({"status": {}}) is None
    assert target.log_source({"status": {"driverInfo": {"podName": "app-driver"}}}) == ("app-driver",
                                                                                         DRIVER_CONTAINER)


def test_a_submitted_driver_keeps_the_applications_settings() -> None:
    conf = submitted_conf(Spark(spark_conf={"spark.sql.shuffle.partitions": "8"}, hadoop_conf={"fs.x": "1"}))
    assert conf == {"spark.sql.shuffle.partitions": "8", "spark.hadoop.fs.x": "1"}  # no master, no memory


def test_the_local_targets_stay_the_defaults() -> None:
    from wingspan_dask import hooks as dask_hooks
    from wingspan_mpi import MPIConfig
    from wingspan_mpi import hooks as mpi_hooks
    from wingspan_ray import RayConfig
    from wingspan_ray import hooks as ray_hooks
    from wingspan_spark import hooks as spark_hooks

    from wingspan.core.config import Settings

    settings = Settings.load(env={})
    plugins = [*spark_hooks.wingspan_task_plugins(SparkPluginConfig(), settings),
               *dask_hooks.wingspan_task_plugins(DaskConfig(), settings),
               *ray_hooks.wingspan_task_plugins(RayConfig(), settings),
               *mpi_hooks.wingspan_task_plugins(MPIConfig(), settings)]
    registry = TaskPluginRegistry(plugins)
    assert [p.name for p in registry.serving("spark")] == ["spark-k8s", "spark-local"]
    kinds = ("spark", "dask", "ray", "mpi")
    for kind in kinds:
        assert registry.choose(kind).name == f"{kind}-local", kind  # type: ignore[union-attr]
    chosen = TaskPluginRegistry(plugins, {kind: f"{kind}-k8s" for kind in kinds})
    for kind in kinds:
        assert chosen.choose(kind).name == f"{kind}-k8s", kind  # type: ignore[union-attr]


# ---- Dask ---------------------------------------------------------------------------------------


def test_the_daskjob_of_an_attempt() -> None:
    from wingspan_dask import Dask

    @task(task_config=Dask(workers=3, threads_per_worker=2, memory_limit="2GiB"))
    def dask_body(n: int) -> int:
        return n

    target = DaskK8sTarget(DaskConfig(k8s_image="dask:2026.8"), K8S)
    ctx, attempt = attempt_of(dask_body.template)
    spec = target.build_spec(ctx, attempt)
    DASK_JOB.check(spec, "dask_body")
    runner = spec["job"]["spec"]
    assert runner["nodeName"] == "node-a" and runner["restartPolicy"] == "Never"
    assert runner["containers"][0]["command"][:2] == ["wingspan", "execute"]
    cluster = spec["cluster"]["spec"]
    assert cluster["worker"]["replicas"] == 3
    worker = cluster["worker"]["spec"]["containers"][0]
    assert worker["image"] == "dask:2026.8"
    assert worker["args"][worker["args"].index("--nthreads") + 1] == "2"
    assert worker["args"][worker["args"].index("--memory-limit") + 1] == "2GiB"
    assert cluster["scheduler"]["service"]["selector"]["dask.org/cluster-name"] == attempt.name


@pytest.mark.parametrize(("status", "phase"), [
    ({}, TaskPhase.QUEUED), ({"jobStatus": "JobCreated"}, TaskPhase.QUEUED),
    ({"jobStatus": "ClusterCreated"}, TaskPhase.QUEUED), ({"jobStatus": "Running"}, TaskPhase.RUNNING),
    ({"jobStatus": "Successful"}, TaskPhase.SUCCEEDED), ({"jobStatus": "Failed"}, TaskPhase.FAILED)])
def test_daskjob_states(status: dict[str, str], phase: TaskPhase) -> None:
    state = job_state({"status": status}, "n0")
    assert state.phase == phase
    if phase == TaskPhase.FAILED:
        assert state.error is not None and state.error.code == "DaskJobFailed" and state.read_error
