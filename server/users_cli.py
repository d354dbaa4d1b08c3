"""``wingspan users``: the local user store and the service accounts, on the server's host.

These commands open the server's database themselves (``--home``, ``--config``, or
``WINGSPAN_DB_URL`` as for ``wingspan serve``), so the first deployment-wide admin can be made
before anyone can call the API: ``wingspan users add ada --admin``. Passwords are read from the
terminal (hidden, twice) or, with ``--password-stdin``, from standard input; never from a flag,
which every user of the host can read in the process list. A service account's secret is shown
once, when it is made.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from wingspan.core.config import Settings
from wingspan.core.errors import WingspanError

__all__ = ["users"]

T = TypeVar("T")

_home = click.option("--home", type=click.Path(path_type=Path), help="the server's WINGSPAN_HOME")
_config = click.option("--config", "config_file", type=click.Path(path_type=Path),
                       help="the server's TOML config file")


def _run(home: Path | None, config_file: Path | None, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(auth)`` over the server's database (migrated first, as the server does at start)."""
    from wingspan.server.auth.accounts import Accounts
    from wingspan.server.auth.roles import RoleBindings
    from wingspan.server.db.engine import Database
    from wingspan.server.db.migrate import migrate

    class Store:
        def __init__(self, db: Database) -> None:
            self.accounts = Accounts(db)
            self.bindings = RoleBindings(db)

    async def run() -> T:
        settings = Settings.load({"home": home} if home else {}, config_file=config_file)
        async with Database.from_settings(settings) as db:
            await migrate(db)
            return await work(Store(db))

    try:
        return asyncio.run(run())
    except WingspanError as exc:
        raise click.ClickException(str(exc)) from exc


def _read_secret(from_stdin: bool, what: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt(what, hide_input=True, confirmation_prompt=True)
    return value


@click.group()
def users() -> None:
    """Users of the local store and service accounts (on the server's host)."""


@users.command()
@click.argument("name")
@click.option("--admin", is_flag=True, help="make the user a deployment-wide admin")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@_home
@_config
def add(name: str, admin: bool, password_stdin: bool, home: Path | None, config_file: Path | None) -> None:
    """Add the user NAME, who logs in with a password (wingspan login)."""
    from wingspan.server.auth.roles import Role

    password = _read_secret(password_stdin, f"password for {name}")

    async def work(store: Any) -> None:
        await store.accounts.add_user(name, password)
        if admin:
            await store.bindings.grant(name, Role.ADMIN)

    _run(home, config_file, work)
    click.echo(f"user {name} added" + (", a deployment-wide admin" if admin else
                                       "; give a role with wingspan access grant"), err=True)


@users.command(name="list")
@_home
@_config
def list_(home: Path | None, config_file: Path | None) -> None:
    """The users of the local store."""

    async def work(store: Any) -> list[str]:
        names: list[str] = list(await store.accounts.users())
        return names

    for name in _run(home, config_file, work):
        click.echo(name)


@users.command(name="add-service-account")
@click.argument("client_id")
@click.option("--secret-stdin", is_flag=True,
              help="read the secret from standard input instead of making one")
@click.option("--admin", is_flag=True, help="make the account a deployment-wide admin")
@_home
@_config
def add_service_account(client_id: str, secret_stdin: bool, admin: bool, home: Path | None,
                        config_file: Path | None) -> None:
    """Add (or give a new secret to) the service account CLIENT_ID, for the client credentials
    grant (CI: WINGSPAN_CLIENT_ID and WINGSPAN_CLIENT_SECRET). Prints a new secret once."""
    given = sys.stdin.readline().rstrip("\r\n") if secret_stdin else ""

    from wingspan.server.auth.roles import Role

    async def work(store: Any) -> str:
        made: str = await store.accounts.set_service_account(client_id, given)
        if admin:
            await store.bindings.grant(client_id, Role.ADMIN)
        return made

    made = _run(home, config_file, work)
    if not given:
        click.echo(made)  # stdout: for a script to capture; shown only this once
    click.echo(f"service account {client_id} ready; give it a role with: wingspan access grant "
               f"{client_id} ROLE", err=True)
