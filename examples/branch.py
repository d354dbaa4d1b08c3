"""A branch: only the arm whose condition holds runs."""

from wingspan import conditional, task, workflow


@task
def classify(x: int) -> int:
    return x


@task
def positive(x: int) -> str:
    return f"{x} is positive"


@task
def negative(x: int) -> str:
    return f"{x} is negative"


@workflow
def branch(x: int = 5) -> str:
    value = classify(x=x)
    return (
        conditional("sign")
        .if_(value > 0).then(positive(x=value))
        .elif_(value < 0).then(negative(x=value))
        .else_().fail("zero has no sign")
    )
