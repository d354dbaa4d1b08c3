"""@task and @workflow read their interface from type hints and check every option at once."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any, NamedTuple

import pytest

from wingspan import ContainerTask, Resources, Secret, dynamic, task, workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.literals import SimpleType
from wingspan.core.model.tasks import SecretMount


class Stats(NamedTuple):
    total: int
    label: str


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class Opaque:
    """A record that contains itself: no literal type holds it, and it is refused rather than
    pickled (a plain class would pass pickled)."""

    children: list[Opaque]


@task
def single(a: int, b: str = "x") -> float:
    """Docs of single."""
    return float(a)


@task
def pair(a: int) -> tuple[int, str]:
    return a, ""


@task
def named(a: int) -> Stats:
    return Stats(a, "")


@task
def nothing(a: int) -> None:
    pass


def names(variables: Any) -> list[str]:
    return [v.name for v in variables]


def problems(fn: Any) -> list[str]:
    with pytest.raises(CompilationError) as caught:
        fn()
    return caught.value.problems


# ---- interfaces ---------------------------------------------------------------------------


def test_inputs_come_from_hints_and_defaults_make_them_optional() -> None:
    iface = single.interface
    assert iface.inputs == {"a": int, "b": str}
    assert iface.defaults == {"b": "x"}
    assert list(iface.default_literals) == ["b"]
    assert names(iface.typed.inputs) == ["a", "b"]
    assert [v.type.value for v in iface.typed.inputs if v.type] == [SimpleType.INTEGER, SimpleType.STRING]


def test_a_single_output_is_o0() -> None:
    assert single.interface.output_style == "single"
    assert names(single.interface.typed.outputs) == ["o0"]
    assert single.interface.typed.output_style == "single"


def test_a_tuple_output_is_o0_o1() -> None:
    assert pair.interface.output_style == "tuple"
    assert pair.interface.outputs == {"o0": int, "o1": str}
    assert names(pair.interface.typed.outputs) == ["o0", "o1"]


def test_a_named_tuple_output_uses_its_field_names_and_type_name() -> None:
    iface = named.interface
    assert iface.output_style == "named_tuple"
    assert iface.outputs == {"total": int, "label": str}
    assert iface.typed.output_type_name == f"{Stats.__module__}.Stats"
    assert iface.pack_outputs({"total": 3, "label": "x"}) == Stats(3, "x")


def test_none_means_no_outputs() -> None:
    assert nothing.interface.output_style == "none"
    assert nothing.interface.typed.outputs == ()


def test_the_template_carries_options_and_docs() -> None:
    template = single.template
    assert template.id is not None and template.id.name == f"{__name__}.single"
    assert template.type == "python"
    assert template.metadata is not None and template.metadata.docs == "Docs of single."
    assert template.code is not None and template.code.qualname == "single"


def test_every_option_reaches_the_template() -> None:
    @task(retries=2, timeout=timedelta(minutes=5), cache=True, cache_version="v7", cache_serialize=True,
          cache_ignore_inputs=["b"], requests=Resources(cpu="1", mem="1Gi", gpu=1,
                                                         ephemeral_storage="10Gi"),
          limits=Resources(cpu=2), secrets=[Secret("db", "password", mount="env")], image="img:1",
          interruptible=True, environment={"B": "2", "A": "1"}, docs="override")
    def configured(a: int, b: int = 0) -> int:
        return a

    template = configured.template
    meta = template.metadata
    assert meta is not None and meta.cache is not None
    assert (meta.retries, meta.timeout, meta.interruptible, meta.docs) == (
        2, timedelta(minutes=5), True, "override")
    assert (meta.cache.enabled, meta.cache.version, meta.cache.serialize, meta.cache.ignored_inputs) == (
        True, "v7", True, ("b",))
    container = template.container
    assert container is not None and container.resources is not None
    assert container.image == "img:1"
    assert [(kv.key, kv.value) for kv in container.env] == [("A", "1"), ("B", "2")]
    requests, limits = container.resources.requests, container.resources.limits
    assert requests is not None and limits is not None
    assert (requests.cpu, requests.memory, requests.gpu, requests.ephemeral_storage) == (
        "1", "1Gi", "1", "10Gi")
    assert limits.cpu == "2" and limits.memory == ""
    assert [(s.group, s.key, s.mount) for s in template.secrets] == [("db", "password", SecretMount.ENV)]


def test_the_default_cache_version_is_a_digest_of_the_code() -> None:
    @task(cache=True)
    def cached(a: int) -> int:
        return a

    meta = cached.template.metadata
    assert meta is not None and meta.cache is not None
    # the function's own digest and that of the user code it calls (none here)
    assert meta.cache.version == cached.cache_version() and len(meta.cache.version) == 32
    assert cached.cache_version() != cached.code_digest


def test_a_timeout_in_seconds_becomes_a_timedelta() -> None:
    @task(timeout=90)
    def slow(a: int) -> int:
        return a

    assert slow.template.metadata is not None and slow.template.metadata.timeout == timedelta(seconds=90)


def test_a_plugin_task_config_sets_the_type_and_custom() -> None:
    class Spark:
        task_type = "spark"

        def to_custom(self) -> dict[str, Any]:
            return {"executors": 4, "conf": "x"}

    @task(task_config=Spark())
    def spark_job(a: int) -> int:
        return a

    template = spark_job.template
    assert template.type == "spark"
    assert template.custom is not None
    # an int stays an int (a protobuf Struct would make it a float)
    assert template.custom.literals["executors"].kind == "integer"


# ---- everything wrong, at once ------------------------------------------------------------


def test_every_problem_with_a_function_and_its_options_is_reported_at_once() -> None:
    def define() -> None:
        @task(retries=-1, timeout=0, cache="yes", cache_version=3, cache_ignore_inputs=["zz"],
              requests=Resources(cpu="lots"), limits={"cpu": 1}, secrets=[Secret("", "k"), "s"],
              image=5, interruptible=1, environment={"A": 1}, task_config=object())
        def broken(a, b: Opaque, *args, c: int = "x", **kw) -> Opaque:  # type: ignore[no-untyped-def,assignment]
            raise NotImplementedError

    found = problems(define)
    where = f"task '{__name__}.test_every_problem_with_a_function_and_its_options_is_reported_at_once."
    assert all(p.startswith(where) for p in found), found
    expected = [
        "parameter 'a' has no type annotation; add one, e.g. a: int",
        "parameter 'b': type Opaque is not supported",
        "parameter 'args': *args and **kwargs are not supported",
        "parameter 'kw': *args and **kwargs are not supported",
        "default of parameter 'c'",
        "output 'o0': type Opaque is not supported",
        "retries=-1 must be an int >= 0",
        "timeout=0 must be a positive timedelta",
        "cache must be True or False",
        "interruptible must be True or False",
        "cache_version must be a str",
        "cache_ignore_inputs names 'zz', which is not an input",
        "requests: cpu='lots' is not a resource quantity",
        "limits must be Resources(cpu=..., mem=...)",
        "Secret(group='', key='k') needs a group and a key",
        "secrets must be Secret(group, key) objects, got 's'",
        "image must be an image name (a str) or an ImageSpec, not 5",
        "environment must map str to str",
        "is not a plugin task config",
    ]
    for text in expected:
        assert any(text in p for p in found), (text, found)
    assert len(found) == len(expected)


def test_an_annotation_naming_something_undefined_is_reported() -> None:
    def define() -> None:
        @task
        def undefined(a: Undefined) -> int:  # type: ignore[name-defined]  # noqa: F821
            return 0

    (problem,) = problems(define)
    assert "cannot read its type hints: name 'Undefined' is not defined" in problem


def test_cache_settings_need_cache() -> None:
    def define() -> None:
        @task(cache_version="1", cache_serialize=True)
        def uncached(a: int) -> int:
            return a

    (problem,) = problems(define)
    assert "cache_version, cache_serialize and cache_ignore_inputs need cache=True" in problem


@pytest.mark.parametrize("retries", [True, 1.5, -3])
def test_retries_must_be_a_non_negative_int(retries: Any) -> None:
    def define() -> None:
        @task(retries=retries)
        def retried(a: int) -> int:
            return a

    (problem,) = problems(define)
    assert f"retries={retries!r} must be an int >= 0" in problem


def test_a_negative_timedelta_is_not_a_timeout() -> None:
    def define() -> None:
        @task(timeout=timedelta(seconds=-1))
        def negative(a: int) -> int:
            return a

    (problem,) = problems(define)
    assert "must be a positive timedelta" in problem


def test_unknown_options_are_named_with_the_valid_ones_beside_other_problems() -> None:
    with pytest.raises(CompilationError) as caught:
        @task(retries=1, bogus=2, secrets="db", environment="A=1", cache_ignore_inputs="ab")
        def f(x) -> int:  # type: ignore[no-untyped-def]
            return 0
    message = str(caught.value)
    assert "unknown options ['bogus']; valid options: cache, cache_ignore_inputs" in message
    assert "parameter 'x' has no type annotation" in message
    assert "secrets takes a list, e.g. secrets=[Secret('group', 'key')]" in message
    assert "environment takes a dict of str to str, not 'A=1'" in message
    assert "cache_ignore_inputs takes a list of input names, not 'ab'" in message


def test_unknown_dynamic_options_are_named_too() -> None:
    with pytest.raises(CompilationError) as caught:
        @dynamic(bogus=2)
        def d(x: int) -> int:
            return x
    assert "unknown options ['bogus']; valid options: cache, " in str(caught.value)


def test_a_bad_resource_quantity_names_the_field() -> None:
    assert Resources(cpu="500m", mem="1.5Gi", gpu=1, ephemeral_storage="1e3").problems() == []
    assert Resources(mem="lots", gpu=True).problems() == [
        "mem='lots' is not a resource quantity (examples: cpu='500m' or 2, mem='1Gi', gpu=1)",
        "gpu=True is not a resource quantity (examples: cpu='500m' or 2, mem='1Gi', gpu=1)",
    ]


def test_workflow_definition_problems_are_reported_at_once() -> None:
    def define() -> None:
        def wf(a, b: Opaque) -> int:  # type: ignore[no-untyped-def]
            return 0

        workflow(failure_policy="sometimes")(wf)  # type: ignore[call-overload]

    found = problems(define)
    assert len(found) == 3
    assert any("parameter 'a' has no type annotation" in p for p in found)
    assert any("parameter 'b': type Opaque is not supported" in p for p in found)
    assert any("failure_policy='sometimes' is not one of ['fail_after_executable_nodes_complete', "
               "'fail_immediately']" in p for p in found)


# ---- container tasks ----------------------------------------------------------------------


def test_a_container_task_has_its_declared_interface_and_command() -> None:
    ct = ContainerTask("wc", "alpine:3", ["sh", "-c", "wc -l {{.inputs.path}} > /var/outputs/lines"],
                       inputs={"path": str}, outputs={"lines": int}, retries=1)
    template = ct.template
    assert template.type == "container"
    assert template.container is not None
    assert template.container.command[0] == "sh" and template.container.image == "alpine:3"
    assert (template.container.input_dir, template.container.output_dir) == ("/var/inputs", "/var/outputs")
    assert names(ct.interface.typed.inputs) == ["path"] and names(ct.interface.typed.outputs) == ["lines"]
    assert template.metadata is not None and template.metadata.retries == 1


def test_every_container_task_problem_is_reported_at_once() -> None:
    found = problems(lambda: ContainerTask("", "", "echo", inputs={"x": Opaque}, retries=-1))
    assert found[:3] == ["ContainerTask needs a name", "container task '': image must be a non-empty str",
                         "container task '': command must be a list of strings, e.g. ['sh', '-c', '...']"]
    assert any("input 'x': type Opaque is not supported" in p for p in found)
    assert any("retries=-1 must be an int >= 0" in p for p in found)


def test_unknown_container_task_options_are_named() -> None:
    (problem,) = problems(lambda: ContainerTask("c", "img", ["true"], bogus=1))
    assert problem.startswith("container task 'c': unknown options ['bogus']; valid options: ")


def test_records_are_accepted_in_signatures() -> None:
    @task
    def move(p: Point, by: dict[str, int]) -> list[Point]:
        return [p]

    assert move.interface.typed.inputs[0].type is not None
    assert move.interface.typed.inputs[0].type.kind == "record_type"
