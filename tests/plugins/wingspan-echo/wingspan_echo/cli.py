"""A command the plugin adds to the ``wingspan`` CLI."""

import click


@click.command()
def hello() -> None:
    """Say hello from the echo plugin."""
    click.echo("hello from wingspan-echo")
