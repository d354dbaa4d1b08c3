"""Workflows with conditionals inside conditionals (issue #22 item 3), run locally by
test_sdk_nested_conditionals and on a server by tests/unit/remote/test_remote_sdk_values."""

from __future__ import annotations

from wingspan import conditional, task, workflow


@task
def label(text: str, x: int) -> str:
    return f"{text}:{x}"


@workflow
def classify(x: int) -> str:
    """Three levels deep: sign, then size, then how big."""
    result: str = (
        conditional("sign")
        .if_(x > 0).then(
            conditional("size")
            .if_(x > 100).then(
                conditional("huge")
                .if_(x > 500).then(label(text="huge", x=x))
                .else_().then(label(text="big", x=x)))
            .elif_(x > 10).then(label(text="medium", x=x))
            .else_().then(label(text="small", x=x)))
        .elif_(x < 0).then(label(text="negative", x=x))
        .else_().then(
            conditional("zero")
            .if_(x == 0).then(label(text="zero", x=x))
            .else_().fail("unreachable")))
    return result


@workflow
def refuse_small(x: int) -> str:
    """An inner conditional that fails its run."""
    result: str = (
        conditional("outer")
        .if_(x >= 0).then(
            conditional("inner")
            .if_(x > 5).then(label(text="ok", x=x))
            .else_().fail("x must be above 5"))
        .else_().then(label(text="negative", x=x)))
    return result
