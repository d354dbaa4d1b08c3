"""``wingspan init DIR``: a starter project that runs as it is written: a workflow, its test,
and the config a client reads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import click

from wingspan.cli.remote import output_option, show

__all__ = ["STARTER", "init"]

#: path -> text of each file of the starter project
STARTER = {
    "flows/__init__.py": '"""The workflows of this project."""\n',
    "flows/hello.py": '''\
        """A starter workflow: two tasks, the second using the first's output.

        Run it here:          wingspan run flows/hello.py hello --name Ada
        Run it on a server:   wingspan run --remote flows/hello.py hello --name Ada
        (or register it once: wingspan register .)
        """

        from wingspan import task, workflow


        @task
        def greet(name: str) -> str:
            return f"Hello, {name}!"


        @task
        def count_letters(text: str) -> int:
            return sum(c.isalpha() for c in text)


        @workflow
        def hello(name: str = "world") -> tuple[str, int]:
            greeting = greet(name=name)
            return greeting, count_letters(text=greeting)
        ''',
    "tests/test_hello.py": '''\
        """Tasks and workflows run in the test's process when called: no server needed."""

        from flows.hello import count_letters, greet, hello


        def test_greet() -> None:
            assert greet(name="Ada") == "Hello, Ada!"


        def test_count_letters() -> None:
            assert count_letters(text="a b, c!") == 3


        def test_hello_runs_the_workflow() -> None:
            assert hello(name="Ada") == ("Hello, Ada!", 8)
        ''',
    "config.toml": '''\
        # Read by `wingspan` commands and Remote() when WINGSPAN_CONFIG names this file
        # (export WINGSPAN_CONFIG=$PWD/config.toml), and by `wingspan serve --config config.toml`.
        # The gRPC address of the server (a bare host:port off loopback uses TLS).
        endpoint = "127.0.0.1:8089"
        ''',
    "pyproject.toml": '''\
        [project]
        name = "{name}"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["wingspan"]

        [tool.pytest.ini_options]
        pythonpath = ["."]
        testpaths = ["tests"]
        ''',
}


@click.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@output_option
def init(directory: str, output_format: str) -> None:
    """Writes a starter project into DIRECTORY (made if missing): a workflow in flows/hello.py,
    its test in tests/, a config.toml and a pyproject.toml. Writes nothing if any of those
    files is already there."""
    root = Path(directory).resolve()
    there = sorted(path for path in STARTER if (root / path).exists())
    if there:
        raise click.ClickException(f"{root} already holds {', '.join(there)}: nothing was written; "
                                   f"choose an empty directory or move those files")
    name = root.name.replace("_", "-").lower() or "wingspan-project"
    for path, text in STARTER.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text)
        target.write_text(body.replace("{name}", name) if path == "pyproject.toml" else body)
    if output_format != "table":
        show({"directory": str(root), "files": sorted(STARTER)}, output_format, "")
        return
    click.echo(f"wrote a starter project in {root}:")
    for path in sorted(STARTER):
        click.echo(f"  {path}")
    click.echo(f"next: cd {directory} && pytest && wingspan run flows/hello.py hello --name Ada")
