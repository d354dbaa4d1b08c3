"""The ``wingspan`` command line; each command group lives in its own module."""

from __future__ import annotations

import click

import wingspan


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(wingspan.__version__, prog_name="wingspan")
def cli() -> None:
    """Wingspan: typed workflows on a laptop and on a server."""


@cli.command()
def version() -> None:
    """Print the client version."""
    click.echo(wingspan.__version__)


def main() -> None:
    cli()
