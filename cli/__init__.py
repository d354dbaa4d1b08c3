"""The ``wingspan`` command line: the top layer, above the SDK and beside the server.

Commands load on first use, so ``wingspan --help`` and every command start fast.
The built-in ones are listed here; the server (``serve``) and plugins add theirs
through the ``wingspan_cli_commands`` hook. Run as ``wingspan`` or ``python -m wingspan.cli``.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from wingspan.core.version import VERSION

# command name -> "module:attribute"; plugins add theirs through wingspan_cli_commands
COMMANDS = {
    "access": "wingspan.cli.access:access",
    "audit": "wingspan.cli.audit:audit",
    "backfill": "wingspan.cli.backfill:backfill",
    "build": "wingspan.cli.build:build",
    "domain": "wingspan.cli.admin:domain",
    "cache": "wingspan.cli.cache:cache",
    "execute": "wingspan.cli.execute:execute",
    "execution": "wingspan.cli.remote:execution",
    "get": "wingspan.cli.remote:get",
    "init": "wingspan.cli.init:init",
    "launchplan": "wingspan.cli.admin:launchplan",
    "login": "wingspan.cli.login:login",
    "logout": "wingspan.cli.login:logout",
    "logs": "wingspan.cli.logs:logs",
    "plugins": "wingspan.cli.plugins:plugins",
    "project": "wingspan.cli.admin:project",
    "register": "wingspan.cli.remote:register",
    "run": "wingspan.cli.run:run",
    "signal": "wingspan.cli.remote:signal",
}


def _plugin_commands() -> dict[str, Any]:
    """Commands from the plugins' wingspan_cli_commands hooks (discovered when first asked)."""
    from wingspan._runner.parts import local_plugins

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
@click.version_option(VERSION, prog_name="wingspan")
def cli() -> None:
    """Wingspan: typed workflows on a laptop and on a server."""


@cli.command()
def version() -> None:
    """Print the client version."""
    click.echo(VERSION)


def main(args: Any = None) -> None:
    cli.main(args=args, prog_name="wingspan")

