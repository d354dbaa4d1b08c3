# workflow bodies return promises, typed Any
# mypy: disable-error-code="no-any-return"
"""Workflows whose values have no precise type (issue #22, items 10-11), run locally: bare list
and dict, Any, dicts with int keys, pickled objects and numpy arrays between tasks."""

from __future__ import annotations

import typing
import warnings
from typing import Any

import numpy as np
import pytest

from wingspan import task, workflow
from wingspan.core.errors import CompilationError
from wingspan.core.types.pickled import PickledTypeWarning


class Model:
    """A plain class: its values pass pickled."""

    def __init__(self, weights: list[float]) -> None:
        self.weights = weights


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PickledTypeWarning)

    @task
    def fit(xs: list, options: dict) -> Model:  # type: ignore[type-arg]
        return Model([float(x) * options["scale"] for x in xs])

    @task
    def predict(model: Model, x: float) -> float:
        return sum(model.weights) * x


@task
def counts(words: list[str]) -> dict[int, list[str]]:
    by_length: dict[int, list[str]] = {}
    for word in words:
        by_length.setdefault(len(word), []).append(word)
    return by_length


@task
def longest(by_length: dict[int, list[str]]) -> list[str]:
    return by_length[max(by_length)]


@task
def describe(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"


@task
def scaled(a: np.ndarray, by: float) -> np.ndarray:
    return a * by


@task
def total(a: np.ndarray) -> float:
    return float(a.sum())


@task
def one(x: int) -> int:
    return x


def test_bare_containers_and_a_pickled_object_pass_between_tasks() -> None:
    @workflow
    def train(xs: list, scale: float) -> float:  # type: ignore[type-arg]
        return predict(model=fit(xs=xs, options={"scale": scale}), x=2.0)

    assert train(xs=[1, 2.5], scale=2.0) == 14.0


def test_a_list_of_promises_binds_to_a_bare_list_and_anything_to_any() -> None:
    @workflow
    def gathered(x: int) -> float:
        return predict(model=fit(xs=[one(x=x), 3], options={"scale": 1.0}), x=1.0)

    @workflow
    def described(x: int) -> str:
        return describe(value=one(x=x))

    assert gathered(x=2) == 5.0
    assert described(x=4) == "int:4"
    assert describe(value=(1, "a")) == "tuple:(1, 'a')"


def test_dicts_with_int_keys_pass_between_tasks() -> None:
    @workflow
    def grouped(words: list[str]) -> list[str]:
        return longest(by_length=counts(words=words))

    assert grouped(words=["a", "bcd", "efg", "hi"]) == ["bcd", "efg"]
    assert counts(words=["ab", "c"]) == {2: ["ab"], 1: ["c"]}


def test_a_dict_with_int_keys_is_not_indexed_by_str_in_a_workflow() -> None:
    with pytest.raises(CompilationError, match=r"cannot index Promise\(n0.o0: dict\[int, list\[str\]\]\) "
                                               r"with 'a'"):
        @workflow
        def indexed(words: list[str]) -> list[str]:
            return counts(words=words)["a"]


def test_numpy_arrays_pass_between_tasks() -> None:
    @workflow
    def summed(a: np.ndarray) -> float:
        return total(a=scaled(a=a, by=2.0))

    assert summed(a=np.arange(4)) == 12.0
    np.testing.assert_array_equal(scaled(a=np.ones((2, 2)), by=3.0), np.full((2, 2), 3.0))


@task
def squares(n: int) -> typing.Iterator[int]:
    for i in range(n):
        yield i * i


@task
def models(n: int) -> typing.Iterable[Model]:
    return (Model([float(i)]) for i in range(n))


@task
def summed_twice(xs: typing.Iterator[int]) -> list[int]:
    first = next(xs)
    return [first, sum(xs), sum(xs)]  # an iterator: what was read is not read again


@task
def weights(ms: typing.Iterable[Model]) -> list[float]:
    return [w for m in ms for w in m.weights]


def test_a_generator_output_passes_its_items_to_every_consumer() -> None:
    @workflow
    def streamed(n: int) -> tuple[list[int], list[int], list[float]]:
        items = squares(n=n)
        return summed_twice(xs=items), summed_twice(xs=items), weights(ms=models(n=n))

    # each consumer reads the items from the first, whatever another one read
    assert streamed(n=4) == ([0, 14, 0], [0, 14, 0], [0.0, 1.0, 2.0, 3.0])
    assert list(squares(n=3)) == [0, 1, 4]


@task
def as_list(xs: list[int]) -> list[int]:
    return xs + [-1]  # noqa: RUF005 - a list operation: it needs a list, not a stream


def test_a_stream_and_a_list_of_the_same_items_connect_each_way() -> None:
    @workflow
    def both(n: int) -> tuple[list[int], list[int]]:
        listed = as_list(xs=squares(n=n))
        return listed, summed_twice(xs=listed)

    assert both(n=3) == ([0, 1, 4, -1], [0, 4, 0])
