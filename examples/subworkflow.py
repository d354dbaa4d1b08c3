"""A subworkflow: a workflow called inside another runs as one node with children."""

from wingspan import task, workflow


@task
def greet(name: str) -> str:
    return f"hello {name}"


@task
def shout(text: str) -> str:
    return text.upper() + "!"


@workflow
def greeting(name: str) -> str:
    return shout(text=greet(name=name))


@workflow
def two_greetings(first: str = "ada", second: str = "grace") -> list[str]:
    return [greeting(name=first), greeting(name=second)]
