"""A chain: each task feeds the next."""

from wingspan import task, workflow


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def chain(x: int = 3) -> int:
    y = add(a=x, b=1)
    z = double(x=y)
    return add(z, z)  # positional arguments work too


if __name__ == "__main__":
    print(chain(x=2))
