"""``wingspan access grant|revoke|list``: who may do what on a server (role bindings)."""

from __future__ import annotations

import click

from wingspan.cli.remote import endpoint_option, fail, output_option, remote_client, show
from wingspan.core.errors import WingspanError

__all__ = ["access"]

_ROLES = click.Choice(["admin", "contributor", "viewer"])
_project = click.option("--project", "-p", default="*", show_default=True,
                        help="the project (* for every project: a deployment-wide binding)")
_domain = click.option("--domain", "-d", default="*", show_default=True,
                       help="the domain (* for every domain of the project)")


@click.group()
def access() -> None:
    """Grant, revoke and list roles: admin, contributor (register, run, terminate, answer
    signals) and viewer (read), per project and domain. SUBJECT is a user, a service account,
    or group:NAME."""


@access.command()
@click.argument("subject")
@click.argument("role", type=_ROLES)
@_project
@_domain
@endpoint_option
def grant(subject: str, role: str, project: str, domain: str, endpoint: str | None) -> None:
    """Give SUBJECT the ROLE in a project and domain."""
    with remote_client(endpoint, "default", "development") as remote:
        try:
            remote.grant_role(subject, role, project, domain)
        except WingspanError as exc:
            fail(exc)
    click.echo(f"{subject} holds {role} in project {project}, domain {domain}")


@access.command()
@click.argument("subject")
@click.argument("role", type=_ROLES)
@_project
@_domain
@endpoint_option
def revoke(subject: str, role: str, project: str, domain: str, endpoint: str | None) -> None:
    """Take the ROLE in a project and domain away from SUBJECT."""
    with remote_client(endpoint, "default", "development") as remote:
        try:
            remote.revoke_role(subject, role, project, domain)
        except WingspanError as exc:
            fail(exc)
    click.echo(f"{subject} no longer holds {role} in project {project}, domain {domain}")


@access.command(name="list")
@click.option("--project", "-p", default="", help="only this project's bindings (* for deployment-wide ones)")
@click.option("--subject", default="", help="only this subject's bindings")
@endpoint_option
@output_option
def list_(project: str, subject: str, endpoint: str | None, output_format: str) -> None:
    """The role bindings."""
    with remote_client(endpoint, "default", "development") as remote:
        try:
            rows = remote.role_bindings(project=project, subject=subject)
        except WingspanError as exc:
            fail(exc)
    show(rows, output_format, "role bindings")
