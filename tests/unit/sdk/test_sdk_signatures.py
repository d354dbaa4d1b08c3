"""Signatures Flyte users write that are accepted as they mean: no return annotation, a tuple of
types as the return annotation, a one-field NamedTuple returned bare (issue #22, items 7-9)."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from wingspan import task, workflow
from wingspan.core.errors import CompilationError
from wingspan.core.model.literals import SimpleType

calls: list[int] = []


@task
def record_call(x: int):  # type: ignore[no-untyped-def]
    calls.append(x)


def test_a_function_without_a_return_annotation_is_a_task_without_outputs() -> None:
    assert record_call.interface.output_style == "none"
    assert record_call.interface.typed.outputs == ()
    calls.clear()
    assert record_call(x=4) is None
    assert calls == [4]


def test_a_workflow_without_a_return_annotation_runs_its_nodes() -> None:
    @workflow
    def side_effects(x: int):  # type: ignore[no-untyped-def]
        record_call(x=x)

    calls.clear()
    assert side_effects(x=7) is None
    assert calls == [7]


def test_what_a_function_without_a_return_annotation_returns_is_dropped_as_flyte_does() -> None:
    @task
    def incidental(x: int):  # type: ignore[no-untyped-def]
        calls.append(x)
        return x + 1  # e.g. the result of a library call, not meant as an output

    calls.clear()
    assert incidental(x=1) is None
    assert calls == [1]


def test_a_workflow_returning_a_promise_without_an_annotation_says_what_to_add() -> None:
    @task
    def one(x: int) -> int:
        return x

    with pytest.raises(CompilationError, match="declares no outputs; annotate what it returns"):
        @workflow
        def unannotated(x: int):  # type: ignore[no-untyped-def]
            return one(x=x)


@task
def pair(a: int) -> (int, str):  # type: ignore[syntax]
    return a + 1, str(a)


def test_a_tuple_of_types_as_return_annotation_means_a_tuple_of_outputs() -> None:
    iface = pair.interface
    assert iface.output_style == "tuple"
    assert [(v.name, v.type.value) for v in iface.typed.outputs if v.type] == [
        ("o0", SimpleType.INTEGER), ("o1", SimpleType.STRING)]
    assert pair(a=1) == (2, "1")

    @workflow
    def swap(a: int) -> tuple[str, int]:
        n, s = pair(a=a)
        return s, n

    assert swap(a=4) == ("4", 5)


def test_a_tuple_of_types_under_postponed_annotations_too() -> None:
    source = ("from __future__ import annotations\nfrom wingspan import task\n\n"
              "@task\ndef pair(a: int) -> (int, str):\n    return a, str(a)\n")
    namespace: dict[str, object] = {"__name__": "postponed_pair"}
    exec(compile(source, "postponed_pair.py", "exec"), namespace)
    defined = namespace["pair"]
    assert defined.interface.output_style == "tuple"  # type: ignore[attr-defined]
    assert defined(a=3) == (3, "3")  # type: ignore[operator]


def test_a_tuple_of_something_else_in_the_return_annotation_is_named() -> None:
    with pytest.raises(CompilationError, match=r"output 'o1': .*not supported|return annotation"):
        @task
        def odd(a: int) -> (int, 3):  # type: ignore[syntax]
            return a, 3


class Total(NamedTuple):
    total: int


@task
def bare_total(a: int, b: int) -> Total:
    return a + b  # type: ignore[return-value]


@task
def wrapped_total(a: int, b: int) -> Total:
    return Total(a + b)


def test_a_one_field_named_tuple_may_be_returned_bare() -> None:
    assert bare_total(a=1, b=2) == Total(3)
    assert bare_total(a=1, b=2).total == 3
    assert wrapped_total(a=1, b=2) == Total(3)


def test_a_workflow_may_return_the_bare_promise_of_a_one_field_named_tuple() -> None:
    @workflow
    def summed(a: int) -> Total:
        return bare_total(a=a, b=a).total  # type: ignore[no-any-return]

    @workflow
    def passed_on(a: int) -> Total:
        return wrapped_total(a=a, b=1)  # type: ignore[no-any-return]

    assert summed(a=2) == Total(4)
    assert passed_on(a=2) == Total(3)


def test_a_bare_value_of_the_wrong_type_still_names_the_output() -> None:
    @task
    def wrong(a: int) -> Total:
        return "three"  # type: ignore[return-value]

    with pytest.raises(Exception, match=r"returned str 'three' for output 'total', which is declared int"):
        wrong(a=1)
