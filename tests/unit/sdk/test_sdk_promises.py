# workflow bodies return promises, which the SDK types as Any
# mypy: disable-error-code="no-any-return"
"""Workflow bodies: binding arguments, reaching into promises, ordering, overrides, and the
clear errors for using a promise as if it were a value."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

import pytest

from wingspan import Resources, task, workflow
from wingspan._authoring.workflow import Workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.workflows import START_NODE, BindingData, Node, OutputReference, PathStep


class Split(NamedTuple):
    head: int
    rest: list[int]


@dataclasses.dataclass
class Point:
    x: int
    y: int


@task
def inc(x: int) -> int:
    return x + 1


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def pair(x: int) -> tuple[int, str]:
    return x, str(x)


@task
def split(xs: list[int]) -> Split:
    return Split(xs[0], xs[1:])


@task
def point(x: int) -> Point:
    return Point(x, x)


@task
def listing(n: int) -> list[int]:
    return list(range(n))


@task
def mapping(n: int) -> dict[str, int]:
    return {"n": n}


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def lookup(table: dict[str, int]) -> int:
    return len(table)


@task
def maybe(x: int | None = None) -> int:
    return x or 0


@task
def shout(text: str) -> str:
    return text.upper()


@task
def side_effect() -> None:
    pass


def nodes(wf: Workflow) -> dict[str, Node]:
    return {n.id: n for n in wf.template.nodes}


def binding(node: Node, var: str) -> BindingData:
    found = next(b.binding for b in node.inputs if b.var == var)
    assert found is not None
    return found


def ref(node_id: str, var: str = "o0", *path: PathStep) -> BindingData:
    return BindingData("promise", OutputReference(node_id, var, tuple(path)))


def define_error(body: Callable[[], Any]) -> str:
    with pytest.raises(CompilationError) as caught:
        body()
    return str(caught.value)


# ---- binding ------------------------------------------------------------------------------


def test_positional_and_keyword_arguments_bind_the_same_inputs() -> None:
    @workflow
    def both(x: int) -> int:
        y = add(x, 1)
        return add(b=y, a=x)

    n0, n1 = both.template.nodes
    assert binding(n0, "a") == ref(START_NODE, "x") and binding(n0, "b").kind == "literal"
    assert binding(n1, "a") == ref(START_NODE, "x") and binding(n1, "b") == ref("n0")


def test_defaults_bind_as_constants_when_not_given() -> None:
    @workflow
    def defaulted() -> int:
        return maybe()

    node = defaulted.template.nodes[0]
    assert binding(node, "x").kind == "literal"


def test_a_value_flows_into_an_optional_input_with_its_variant_tag() -> None:
    @workflow
    def tagged(x: int) -> int:
        return maybe(x=x)

    data = binding(tagged.template.nodes[0], "x")
    assert data.kind == "promise" and data.union_tag == "int"


def test_lists_and_dicts_of_promises_and_constants_bind() -> None:
    @workflow
    def containers(x: int) -> int:
        return add(a=total(xs=[x, inc(x=x), 3]), b=lookup(table={"a": x, "b": 2}))

    by_id = nodes(containers)
    listed = binding(by_id["n1"], "xs")
    assert listed.kind == "collection"
    items = listed.value.bindings
    assert [i.kind for i in items] == ["promise", "promise", "literal"]
    assert items[1] == ref("n0")
    mapped = binding(by_id["n2"], "table")
    assert mapped.kind == "map" and mapped.value.bindings["a"] == ref(START_NODE, "x")
    assert containers.closure.primary is not None
    assert containers.closure.primary.connections is not None
    assert containers.closure.primary.connections.upstream["n1"].ids == ("n0",)


def test_a_promise_of_the_wrong_type_names_the_task_input_and_both_types() -> None:
    def define() -> None:
        @workflow
        def mismatched(x: int) -> str:
            return shout(text=x)

    assert define_error(define) == (
        f"task '{__name__}.shout', input 'text' expects str but got Promise(start.x: int) of type int")


def test_a_constant_of_the_wrong_type_names_the_input_once() -> None:
    def define() -> None:
        @workflow
        def mismatched() -> int:
            return inc(x="three")

    assert define_error(define) == f"task '{__name__}.inc', input 'x': expected int, got str 'three'"


def test_a_missing_input_is_named() -> None:
    def define() -> None:
        @workflow
        def missing(x: int) -> int:
            return add(a=x)

    assert define_error(define) == f"task '{__name__}.add', input 'b' is required but not given"


def test_an_unknown_input_is_named_with_the_inputs_there_are() -> None:
    def define() -> None:
        @workflow
        def unknown(x: int) -> int:
            return inc(x=x, y=2)

    with pytest.raises(TypeError, match=r"task '.*\.inc' has no input 'y'; its inputs: x"):
        define()


def test_too_many_positional_arguments_are_rejected() -> None:
    def define() -> None:
        @workflow
        def crowded(x: int) -> int:
            return inc(x, x)

    with pytest.raises(TypeError, match=r"takes 1 inputs \(x\) but 2 were given positionally"):
        define()


def test_an_output_never_returned_is_named() -> None:
    def define() -> None:
        @workflow
        def forgetful(x: int) -> int:
            inc(x=x)  # the result is dropped: the workflow's output is never bound
            return None  # type: ignore[return-value]

    assert define_error(define).endswith(
        "forgetful': outputs ['o0'] are never bound: the body returns nothing; return the promise(s) of "
        "the node(s) that make them")


def test_a_tuple_output_left_as_none_is_named() -> None:
    def define() -> None:
        @workflow
        def half(x: int) -> tuple[int, int]:
            return inc(x=x), None  # type: ignore[return-value]

    assert define_error(define).endswith("half', output 'o1' is never bound: the body returns None for "
                                         "it; return the promise of the node that makes it")


def test_returning_a_promise_without_declaring_outputs_is_an_error() -> None:
    def define() -> None:
        @workflow
        def silent(x: int) -> None:
            return inc(x=x)

    assert define_error(define).endswith("silent' returns a promise but declares no outputs; annotate "
                                         "what it returns, e.g. -> int")


def test_a_node_without_outputs_cannot_feed_an_input() -> None:
    def define() -> None:
        @workflow
        def fed() -> int:
            return inc(x=side_effect())

    assert "the node passed here has no outputs; use a >> b" in define_error(define)


# ---- reaching into promises -----------------------------------------------------------------


def test_tuple_outputs_unpack_and_index() -> None:
    @workflow
    def unpacked(x: int) -> tuple[int, str]:
        number, text = pair(x=x)
        again = pair(x=number)
        return inc(x=again[0]), shout(text=text)

    by_id = nodes(unpacked)
    assert binding(by_id["n1"], "x") == ref("n0", "o0")
    assert binding(by_id["n2"], "x") == ref("n1", "o0")
    assert binding(by_id["n3"], "text") == ref("n0", "o1")


def test_named_tuple_outputs_by_field_and_by_index() -> None:
    @workflow
    def fields(xs: list[int]) -> int:
        parts = split(xs=xs)
        return add(a=parts.head, b=total(xs=parts[1]))

    by_id = nodes(fields)
    assert binding(by_id["n2"], "a") == ref("n0", "head")
    assert binding(by_id["n1"], "xs") == ref("n0", "rest")


def test_list_dict_and_record_promises_index_with_a_path() -> None:
    @workflow
    def paths(n: int) -> int:
        first = listing(n=n)[2]
        value = mapping(n=n)["n"]
        p = point(x=n)
        return add(a=add(a=first, b=value), b=add(a=p.x, b=p["y"]))

    by_id = nodes(paths)
    assert binding(by_id["n3"], "a") == ref("n0", "o0", PathStep("index", 2))
    assert binding(by_id["n3"], "b") == ref("n1", "o0", PathStep("key", "n"))
    assert binding(by_id["n4"], "a") == ref("n2", "o0", PathStep("key", "x"))
    assert binding(by_id["n4"], "b") == ref("n2", "o0", PathStep("key", "y"))
    assert paths.closure.primary is not None  # the compiler follows the paths' types too


@pytest.mark.parametrize("key", [-1, "a", 1.5, True])
def test_a_list_promise_takes_only_an_int_index(key: Any) -> None:
    def define() -> None:
        @workflow
        def bad_index(n: int) -> int:
            return inc(x=listing(n=n)[key])

    assert "index a list promise with an int >= 0" in define_error(define)


def test_a_missing_record_field_is_named() -> None:
    def define() -> None:
        @workflow
        def bad_field(n: int) -> int:
            return inc(x=point(x=n).z)

    assert define_error(define) == "Point has no field 'z'"


# ---- promise misuse -----------------------------------------------------------------------

MISUSES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "if x:": (lambda x: 1 if x else 0, "Branch with conditional('name')"),
    "not x": (lambda x: not x, "Branch with conditional('name')"),
    "x and 1": (lambda x: x and 1, "Branch with conditional('name')"),
    "if x > 0:": (lambda x: 1 if x > 0 else 0, "combine conditions with & and |"),
    "0 < x < 5": (lambda x: 0 < x < 5, "write a range as (x > 0) & (x < 5)"),
    "x + 1": (lambda x: x + 1, "Do the computation in a @task"),
    "1 + x": (lambda x: 1 + x, "Do the computation in a @task"),
    "x * 2": (lambda x: x * 2, "Do the computation in a @task"),
    "-x": (lambda x: -x, "Do the computation in a @task"),
    "len(x)": (lambda x: len(x), "Do the computation in a @task"),
    "math.sqrt(x)": (lambda x: math.sqrt(x), "Do the computation in a @task"),
    "range(x)": (lambda x: range(x), "Do the computation in a @task"),
    "for i in x": (lambda x: [i for i in x], "use map_task(task)(items=...)"),
    "3 in x": (lambda x: 3 in x, "Do the computation in a @task"),
    "x()": (lambda x: x(), "Call tasks and workflows, not their outputs."),
}


@pytest.mark.parametrize("label", list(MISUSES))
def test_using_a_promise_as_a_value_says_what_to_use_instead(label: str) -> None:
    misuse, advice = MISUSES[label]

    def define() -> None:
        @workflow
        def misused(x: int) -> int:
            misuse(inc(x=x))
            return x

    message = define_error(define)
    assert advice in message, message


def test_the_misuse_message_says_why() -> None:
    def define() -> None:
        @workflow
        def loop(xs: list[int]) -> int:
            for item in xs:
                inc(x=item)
            return 0

    assert define_error(define) == (
        "a promise (the future output of a node) was used in a loop or unpacking while the workflow "
        "was being defined; its value exists only when the workflow runs. To run a task per item, use "
        "map_task(task)(items=...); to build the graph from values at run time, use @dynamic.")


def test_a_comparison_is_not_a_bool_value() -> None:
    def define() -> None:
        @workflow
        def compared(x: int) -> bool:
            return x == 1

    assert define_error(define).endswith(
        "compared', output 'o0': a comparison of promises (x == 1, x > y) is a condition for "
        "conditional(...).if_(...), not a bool value; to compute a bool, do the comparison in a @task")


def test_promises_are_not_hashable() -> None:
    def define() -> None:
        @workflow
        def hashed(x: int) -> int:
            {x: 1}  # noqa: B018
            return x

    with pytest.raises(TypeError, match="unhashable"):
        define()


# ---- ordering and overrides -----------------------------------------------------------------


def test_rshift_orders_nodes_that_share_no_data() -> None:
    @workflow
    def ordered(x: int) -> int:
        first = side_effect()
        second = inc(x=x)
        third = inc(x=x)
        first >> second >> third
        return third

    by_id = nodes(ordered)
    assert by_id["n1"].upstream_node_ids == ("n0",)
    assert by_id["n2"].upstream_node_ids == ("n1",)
    assert ordered.closure.primary is not None and ordered.closure.primary.connections is not None
    connections = ordered.closure.primary.connections
    assert connections.order == ("n0", "n1", "n2")
    assert connections.upstream["n2"].ids == ("n1",)


def test_rshift_to_several_nodes_at_once() -> None:
    @workflow
    def fan(x: int) -> int:
        first = side_effect()
        a, b = inc(x=x), inc(x=x)
        first >> (a, b)
        return add(a=a, b=b)

    by_id = nodes(fan)
    assert by_id["n1"].upstream_node_ids == ("n0",) and by_id["n2"].upstream_node_ids == ("n0",)


def test_rshift_to_a_plain_value_is_an_error() -> None:
    def define() -> None:
        @workflow
        def wrong(x: int) -> int:
            side_effect() >> 3
            return x

    assert define_error(define) == ">> orders nodes: both sides must be node outputs, not int"


def test_with_overrides_sets_a_nodes_name_retries_timeout_and_resources() -> None:
    @workflow
    def tuned(x: int) -> int:
        return inc(x=x).with_overrides(name="bump", retries=3, timeout=timedelta(seconds=5),
                                       requests=Resources(cpu="2", mem="1Gi"), limits=Resources(cpu=4),
                                       interruptible=True)

    node = tuned.template.nodes[0]
    assert node.metadata is not None
    meta = node.metadata
    assert (meta.name, meta.retries, meta.timeout) == ("bump", 3, timedelta(seconds=5))
    assert meta.interruptible is True
    overrides = node.value.overrides
    assert overrides is not None and overrides.resources is not None
    assert overrides.resources.requests.cpu == "2" and overrides.resources.limits.cpu == "4"


def test_with_overrides_takes_flytekits_node_name_as_the_nodes_name() -> None:
    @workflow
    def named(x: int) -> int:
        return inc(x=x).with_overrides(node_name="bump-it")

    metadata = named.template.nodes[0].metadata
    assert metadata is not None and metadata.name == "bump-it"


def test_with_overrides_on_one_output_of_a_multi_output_node_applies_to_the_node() -> None:
    @workflow
    def tuned(x: int) -> str:
        number, text = pair(x=x)
        number.with_overrides(retries=2)
        return text

    node = tuned.template.nodes[0]
    assert node.metadata is not None and node.metadata.retries == 2


def test_every_bad_override_is_reported_at_once() -> None:
    def define() -> None:
        @workflow
        def tuned(x: int) -> int:
            return inc(x=x).with_overrides(retries=-1, timeout=-5, requests=Resources(cpu="x"))

    assert define_error(define) == (
        "3 problems:\n"
        "  - with_overrides(retries=-1): retries must be an int >= 0\n"
        "  - with_overrides(timeout=-5): give a positive timedelta\n"
        "  - cpu='x' is not a resource quantity (examples: cpu='500m' or 2, mem='1Gi', gpu=1)")


def test_with_overrides_on_a_workflow_input_is_an_error() -> None:
    def define() -> None:
        @workflow
        def tuned(x: int) -> int:
            return x.with_overrides(retries=1)  # type: ignore[attr-defined]

    assert define_error(define) == "with_overrides applies to a node's output, not a workflow input"


# ---- printing promises (issue #22, item 13) ---------------------------------------------------


def test_print_of_a_promise_in_a_workflow_body_shows_its_node_and_output(
        capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    @task
    def nothing(x: int) -> None:
        pass

    @workflow
    def printed(x: int) -> int:
        y = inc(x=x)
        print(y, x, nothing(x=x))
        print(f"y is {y}, then {y!s:>25}")
        logging.getLogger("printed").warning("y=%s", y)
        return y

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Promise(n0.o0: int) Promise(start.x: int) NodeOutput(n1, no outputs)"
    assert out[1] == "y is Promise(n0.o0: int), then       Promise(n0.o0: int)"
    assert printed(x=1) == 2


TEXT_MISUSES: dict[str, Callable[[Any], Any]] = {
    "str(x)": lambda x: str(x),
    "f'{x}'": lambda x: f"{x}",
    "'n=' + str(x)": lambda x: "n=" + str(x),
    "['a', f'{x}']": lambda x: ["a", f"{x}"],
    "{'k': str(x)}": lambda x: {"k": str(x)},
}


@pytest.mark.parametrize("label", list(TEXT_MISUSES))
def test_the_text_of_a_promise_given_as_an_input_is_refused(label: str) -> None:
    as_text = TEXT_MISUSES[label]

    @task
    def takes(text: str | list[str] | dict[str, str]) -> int:
        return 0

    def define() -> None:
        @workflow
        def misused(x: int) -> int:
            return takes(text=as_text(inc(x=x)))

    message = define_error(define)
    assert "input 'text': a promise (the future output of a node) was used as text" in message, message
    assert "Promise(n0.o0: int)" in message and "Do the computation in a @task" in message, message


def test_the_text_of_a_promise_in_a_condition_is_refused() -> None:
    from wingspan import conditional

    def define() -> None:
        @workflow
        def misused(x: int, name: str) -> str:
            return conditional("same").if_(shout(text=name) == f"{inc(x=x)}!").then(
                shout(text=name)).else_().then(shout(text="no"))

    message = define_error(define)
    assert message.startswith(
        "a condition comparing Promise(n1.o0: str): a promise (the future output of a node) was used "
        "as text (Promise(n2.o0: int) in 'Promise(n2.o0: int)!')"), message


def test_the_text_of_a_promise_returned_as_a_workflow_output_is_refused() -> None:
    def define() -> None:
        @workflow
        def misused(x: int) -> str:
            return f"{inc(x=x)}"

    assert "output 'o0': a promise (the future output of a node) was used as text" in define_error(define)


def test_text_that_only_looks_like_a_promise_outside_a_definition_is_a_constant() -> None:
    @workflow
    def echoed(x: int) -> str:
        inc(x=x)
        return shout(text="Promise(n0.o0: int)")

    assert echoed(x=1) == "PROMISE(N0.O0: INT)"
