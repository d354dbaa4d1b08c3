"""A dynamic fan-out: the graph's width is decided at run time from the input."""

from wingspan import dynamic, task, workflow


@task
def square(x: int) -> int:
    return x * x


@task
def collect(values: list[int]) -> int:
    return sum(values)


@dynamic
def squares_up_to(n: int) -> int:
    return collect(values=[square(x=i) for i in range(n)])


@workflow
def dynamic_fanout(n: int = 4) -> int:
    return squares_up_to(n=n)
