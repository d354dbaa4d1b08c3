"""The ``wingspan`` command line. Commands load on first use, so ``wingspan --help``
and every command start fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

import wingspan

# command name -> "module:attribute"; plugins add theirs through wingspan_cli_commands
COMMANDS = {
    "run": "wingspan._cli_run:run",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            module, _, attribute = COMMANDS[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(wingspan.__version__, prog_name="wingspan")
def cli() -> None:
    """Wingspan: typed workflows on a laptop and on a server."""


@cli.command()
def version() -> None:
    """Print the client version."""
    click.echo(wingspan.__version__)


def main(args: Any = None) -> None:
    cli.main(args=args, prog_name="wingspan")


if __name__ == "__main__":
    main()
