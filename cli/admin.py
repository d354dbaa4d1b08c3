"""``wingspan project create|update|archive|unarchive``, ``wingspan domain list`` and ``wingspan
launchplan activate|deactivate``: the operator's side of a server.

Domains are the deployment's stages (development, staging, production), not data of the API:
every replica checks each call's domain against the same list, and a project's settings and an
execution's precedence name them. So they are configured (the ``domains`` setting, on every
replica) and the server writes them at its start; ``domain create`` and ``update`` say how
rather than change one replica's view of them.
"""

from __future__ import annotations

from typing import Any

import click

from wingspan.cli.remote import (
    domain_option,
    endpoint_option,
    fail,
    output_option,
    project_option,
    remote_client,
    show,
)
from wingspan.core.errors import WingspanError

__all__ = ["domain", "launchplan", "project"]


def _labels(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: write KEY=VALUE")
        labels[key] = text
    return labels


_label_option = click.option("--label", "labels", multiple=True, callback=_labels, metavar="KEY=VALUE",
                             help="A label (repeat for several); given labels replace the project's.")


def _answer(row: dict[str, Any], output_format: str, said: str) -> None:
    if output_format == "table":
        click.echo(said)
    else:
        show(row, output_format, "")


@click.group()
def project() -> None:
    """Create, change, archive and unarchive projects (admins only)."""


@project.command()
@click.argument("project_id")
@click.option("--name", default="", help="Default: the id.")
@click.option("--description", default="")
@_label_option
@output_option
@endpoint_option
def create(project_id: str, name: str, description: str, labels: dict[str, str] | None, output_format: str,
           endpoint: str | None) -> None:
    """Creates the project PROJECT_ID (lowercase letters, digits, - and _)."""
    try:
        with remote_client(endpoint, project_id, "development") as remote:
            row = remote.create_project(project_id, name=name, description=description, labels=labels)
    except WingspanError as exc:
        fail(exc)
    _answer(row, output_format, f"created project {project_id}")


@project.command()
@click.argument("project_id")
@click.option("--name", default=None)
@click.option("--description", default=None)
@_label_option
@output_option
@endpoint_option
def update(project_id: str, name: str | None, description: str | None, labels: dict[str, str] | None,
           output_format: str, endpoint: str | None) -> None:
    """Changes the name, description or labels of PROJECT_ID (what is not given stays)."""
    try:
        with remote_client(endpoint, project_id, "development") as remote:
            row = remote.update_project(project_id, name=name, description=description, labels=labels)
    except WingspanError as exc:
        fail(exc)
    _answer(row, output_format, f"updated project {project_id}")


def _archive(project_id: str, archived: bool, output_format: str, endpoint: str | None) -> None:
    try:
        with remote_client(endpoint, project_id, "development") as remote:
            row = remote.update_project(project_id, archived=archived)
    except WingspanError as exc:
        fail(exc)
    _answer(row, output_format, f"{'archived' if archived else 'unarchived'} project {project_id}")


@project.command()
@click.argument("project_id")
@output_option
@endpoint_option
def archive(project_id: str, output_format: str, endpoint: str | None) -> None:
    """Archives PROJECT_ID: it is listed only with --archived, and nothing can be registered or
    started in it until it is unarchived."""
    _archive(project_id, True, output_format, endpoint)


@project.command()
@click.argument("project_id")
@output_option
@endpoint_option
def unarchive(project_id: str, output_format: str, endpoint: str | None) -> None:
    """Makes the archived PROJECT_ID active again."""
    _archive(project_id, False, output_format, endpoint)


def _changes(sets: tuple[str, ...], unsets: tuple[str, ...]) -> dict[str, object]:
    changes: dict[str, object] = {}
    for pair in sets:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--set")
        changes[name.strip()] = value.strip()
    for name in unsets:
        changes[name.strip()] = None
    return changes


@project.command()
@click.argument("project_id")
@click.option("--domain", "-d", default="", help="That domain's settings (default: the project's own).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a value (repeat for several).")
@click.option("--unset", "unsets", multiple=True, metavar="NAME", help="Leave a value to the level below.")
@output_option
@endpoint_option
def settings(project_id: str, domain: str, sets: tuple[str, ...], unsets: tuple[str, ...], output_format: str,
             endpoint: str | None) -> None:
    """Shows or changes what PROJECT_ID (or one of its domains; * for the whole deployment)
    gives its executions. The most specific level that sets a value wins: task > execution >
    launch plan > project-domain > project > deployment; `wingspan execution show` says which
    level each value of an execution came from.

    \b
    NAMEs: default_resources.requests.cpu|memory|gpu|ephemeral_storage (and .limits.),
    max_resources.cpu|memory|gpu|ephemeral_storage, python_target, max_parallelism,
    interruptible (yes/no), service_account, namespace_template ({project}, {domain}),
    queue (NAME:MAX, a limit on running executions shared by every launch plan naming it),
    labels.KEY, annotations.KEY."""
    try:
        with remote_client(endpoint, "default", "development") as remote:
            changes = _changes(sets, unsets)
            if changes:
                found = remote.update_project_settings(project_id, domain, **changes)
            else:
                found = remote.project_settings(project_id, domain)
    except WingspanError as exc:
        fail(exc)
    where = "the deployment" if project_id == "*" else project_id + (f"/{domain}" if domain else "")
    if output_format != "table":
        show(found, output_format, "")
    elif not found:
        click.echo(f"{where} sets nothing of its own")
    else:
        show([{"setting": k, "value": v} for k, v in found.items()], output_format, f"settings of {where}")


@click.group()
def launchplan() -> None:
    """Switch launch plans (and so their schedules) on and off."""


def _switch(name: str, version: str | None, active: bool, project_id: str, domain: str, output_format: str,
            endpoint: str | None) -> None:
    try:
        with remote_client(endpoint, project_id, domain) as remote:
            switch = remote.activate_launch_plan if active else remote.deactivate_launch_plan
            row = switch(name, version)
    except WingspanError as exc:
        fail(exc)
    _answer(row, output_format, f"{'activated' if active else 'deactivated'} launch plan "
                                f"{project_id}/{domain}/{name}:{row['version']}")


_version_option = click.option("--version", default=None, help="Default: the latest version "
                               "(activate) or the active one (deactivate).")


@launchplan.command()
@click.argument("name")
@_version_option
@project_option
@domain_option
@output_option
@endpoint_option
def activate(name: str, version: str | None, project: str, domain: str, output_format: str,
             endpoint: str | None) -> None:
    """Makes a version of launch plan NAME the active one: its schedule runs (the version
    active before is switched off)."""
    _switch(name, version, True, project, domain, output_format, endpoint)


@launchplan.command()
@click.argument("name")
@_version_option
@project_option
@domain_option
@output_option
@endpoint_option
def deactivate(name: str, version: str | None, project: str, domain: str, output_format: str,
               endpoint: str | None) -> None:
    """Switches launch plan NAME off: its schedule stops."""
    _switch(name, version, False, project, domain, output_format, endpoint)


#: why domains are not created through the API, and what to do instead
DOMAINS_ARE_CONFIGURED = (
    "domains are the deployment's, configured on the server rather than created through the API "
    "(every replica checks calls against the same list). To {action} {name!r}, list the domains "
    "in order in the server's `domains` setting on every replica: `domains = \"development,"
    "staging,production\"` in its config file, or WINGSPAN_DOMAINS; then restart the replicas. "
    "`wingspan domain list` shows the server's domains."
)


@click.group()
def domain() -> None:
    """List the server's domains (configured on the server: see `wingspan domain create --help`)."""


@domain.command("list")
@output_option
@endpoint_option
def list_domains(output_format: str, endpoint: str | None) -> None:
    """The server's domains, in order."""
    try:
        with remote_client(endpoint, "", "") as remote:
            rows = remote.list_domains()
    except WingspanError as exc:
        fail(exc)
    show(rows, output_format, "domains")


@domain.command(name="create")
@click.argument("name")
def create_domain(name: str) -> None:
    """Refuses, saying how: domains are set in the server's `domains` setting on every replica."""
    raise click.UsageError(DOMAINS_ARE_CONFIGURED.format(action="add", name=name))


@domain.command(name="update")
@click.argument("name")
def update_domain(name: str) -> None:
    """Refuses, saying how: domains are set in the server's `domains` setting on every replica."""
    raise click.UsageError(DOMAINS_ARE_CONFIGURED.format(action="change", name=name))
