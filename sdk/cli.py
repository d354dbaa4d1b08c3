"""The ``wingspan`` command line. Commands load on first use, so ``wingspan --help``
and every command start fast."""

from __future__ import annotations

import importlib
from typing import Any

import click

import wingspan

# command name -> "module:attribute"; plugins add theirs through wingspan_cli_commands
COMMANDS = {
    "backfill": "wingspan._cli_backfill:backfill",
    "cache": "wingspan._cli_cache:cache",
    "execute": "wingspan._cli_execute:execute",
    "execution": "wingspan._cli_remote:execution",
    "get": "wingspan._cli_remote:get",
    "logs": "wingspan._cli_logs:logs",
    "plugins": "wingspan._cli_plugins:plugins",
    "register": "wingspan._cli_remote:register",
    "run": "wingspan._cli_run:run",
    "signal": "wingspan._cli_remote:signal",
    "serve": "wingspan._cli_serve:serve",
}


def _plugin_commands() -> dict[str, Any]:
    """Commands from the plugins' wingspan_cli_commands hooks (discovered when first asked)."""
    from wingspan._local_parts import local_plugins

    return {k: v for k, v in local_plugins().cli_commands.items() if k not in COMMANDS}


def _load(target: Any) -> click.Command:
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
    command: click.Command = target
    return command


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx), *_plugin_commands()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in COMMANDS:
            return _load(COMMANDS[name])
        command = super().get_command(ctx, name)
        if command is None:
            extra = _plugin_commands()
            if name in extra:
                return _load(extra[name])
        return command


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
