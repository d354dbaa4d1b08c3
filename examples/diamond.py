"""A diamond: one input fans out to two tasks that run in parallel, then joins."""

from typing import NamedTuple

from wingspan import task, workflow


class Stats(NamedTuple):
    total: int
    count: int


@task
def summarize(values: list[int]) -> Stats:
    return Stats(sum(values), len(values))


@task
def square_all(values: list[int]) -> list[int]:
    return [v * v for v in values]


@task
def mean(total: int, count: int) -> float:
    return total / count if count else 0.0


@workflow
def diamond(values: list[int] = [1, 2, 3]) -> tuple[float, float]:  # noqa: B006 - a literal default
    plain = summarize(values=values)
    squares = summarize(values=square_all(values=values))
    return mean(total=plain.total, count=plain.count), mean(total=squares.total, count=squares.count)
