"""Commands that talk to a Wingspan server: ``register``, ``get``, ``execution``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from wingspan.core.errors import WingspanError

__all__ = ["ca_option", "chosen_ca", "domain_option", "endpoint_option", "execution", "fail", "get",
           "list_options", "output_option", "project_option", "register", "remote_client", "show", "signal",
           "with_list_options"]

_Command = TypeVar("_Command", bound=Callable[..., Any])
_CA_KEY = "wingspan.ca"


def _remember_ca(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[_CA_KEY] = value


#: ``--ca FILE``, kept for :func:`remote_client` rather than passed to each command
ca_option = click.option("--ca", type=click.Path(dir_okay=False), expose_value=False, callback=_remember_ca,
                         help="PEM file of a CA to trust beside the system's for the server's TLS "
                              "certificate (default: $WINGSPAN_CA, then the config file's ca).")


def chosen_ca() -> str | None:
    """The --ca given to the running command, if any."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_CA_KEY) if ctx is not None else None


def endpoint_option(command: _Command) -> _Command:
    """``--endpoint`` and ``--ca``."""
    endpoint = click.option("--endpoint", default=None, metavar="[https://]HOST:PORT",
                            help="gRPC address of the server (default: $WINGSPAN_ENDPOINT, then the config "
                                 "file's endpoint, then 127.0.0.1:8089); TLS unless it is on loopback or "
                                 "starts with http://.")
    return endpoint(ca_option(command))

project_option = click.option("--project", "-p", default="default", show_default=True)
domain_option = click.option("--domain", "-d", default="development", show_default=True)
output_option = click.option("-o", "--output", "output_format", default="table", show_default=True,
                             type=click.Choice(["table", "json", "yaml"]))


def remote_client(endpoint: str | None, project: str, domain: str) -> Any:
    """The client of every command: the endpoint from --endpoint, WINGSPAN_ENDPOINT, the
    config file or the default (see wingspan._remote.endpoint)."""
    from wingspan._remote.sync import Remote

    return Remote(endpoint, project=project, domain=domain, ca=chosen_ca())


def show(rows: Any, output_format: str, title: str) -> None:
    """Rows as a table for people, or anything as JSON or YAML for scripts."""
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if output_format == "yaml":
        import yaml

        click.echo(yaml.safe_dump(rows, sort_keys=False).rstrip())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=None, header_style="bold")
    columns = list(rows[0]) if rows else ["(none)"]
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    Console().print(table)


def fail(exc: WingspanError) -> None:
    raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("path", type=click.Path(exists=True))
@project_option
@domain_option
@click.option("--version", default=None, help="Default: a digest of the code.")
@click.option("--build-images", is_flag=True,
              help="Build and push the ImageSpec images the tasks use first (as `wingspan build`).")
@endpoint_option
def register(path: str, project: str, domain: str, version: str | None, build_images: bool,
             endpoint: str | None) -> None:
    """Packs the code under PATH and registers its tasks, workflows and launch plans."""
    try:
        with remote_client(endpoint, project, domain) as remote:
            created = remote.register(path, version=version, build_images=build_images)
    except WingspanError as exc:
        fail(exc)
    new = sorted(name for name, made in created.items() if made)
    click.echo(f"registered {len(created)} entities in {project}/{domain}: {len(new)} new, "
               f"{len(created) - len(new)} unchanged")
    for name in new:
        click.echo(f"  + {name}")


#: the flags of every list, the same for each kind
list_options = [
    click.option("--filter", "filters", multiple=True, metavar="FIELD OP VALUE",
                 help="Keep what matches (repeat for several, all must match): OP one of = != > >= "
                      "< <= ~ (contains) ^= (starts with); FIELD=A,B for any of A and B. E.g. "
                      "phase=failed, created_at>=2026-12-01, name~train."),
    click.option("--sort", default="", metavar="[-]FIELD", help="Order by FIELD (- before it: descending)."),
    click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000)),
]


def with_list_options(command: _Command) -> _Command:
    for option in reversed(list_options):
        command = option(command)
    return command


@click.command()
@click.argument("kind", type=click.Choice(["projects", "domains", "tasks", "workflows", "launchplans",
                                           "executions"]))
@click.argument("name", required=False, default="")
@project_option
@domain_option
@with_list_options
@click.option("--archived", is_flag=True, help="projects, executions: the archived ones too.")
@output_option
@endpoint_option
def get(kind: str, name: str, project: str, domain: str, filters: tuple[str, ...], sort: str, limit: int,
        archived: bool, output_format: str, endpoint: str | None) -> None:
    """Lists projects, domains, registered entities (every version of NAME, or each name's
    latest), or executions (of the entity NAME), newest first unless sorted otherwise."""
    listing: dict[str, Any] = {"filters": filters, "sort": sort, "limit": limit}
    try:
        with remote_client(endpoint, project, domain) as remote:
            if kind == "projects":
                rows = remote.list_projects(include_archived=archived, **listing)
            elif kind == "domains":
                rows = remote.list_domains()
            elif kind == "executions":
                found = remote.list_executions(name=name, include_archived=archived, **listing)
                rows = [_execution_row(e.aio) for e in found]
            else:
                rows = remote.list_entities(kind, name, **listing)
    except WingspanError as exc:
        fail(exc)
    scoped = kind not in ("projects", "domains")
    show(rows, output_format, f"{kind} in {project}/{domain}" if scoped else kind)


def _execution_row(e: Any) -> dict[str, Any]:
    return {"name": e.name, "entity": e.entity, "phase": e.phase.name,
            "created": e.created_at.isoformat(timespec="seconds") if e.created_at else "",
            "error": e.error.splitlines()[0] if e.error else e.reason,
            **({"archived": True} if e.archived else {})}


@click.group()
def execution() -> None:
    """Acts on one execution."""


@execution.command()
@click.argument("name")
@click.option("--reason", default="terminated from the command line")
@click.option("--force", is_flag=True, help="End it now, even if running attempts do not confirm.")
@project_option
@domain_option
@endpoint_option
def terminate(name: str, reason: str, force: bool, project: str, domain: str, endpoint: str | None) -> None:
    """Terminates the execution NAME."""
    try:
        with remote_client(endpoint, project, domain) as remote:
            remote.terminate(name, reason, force=force)
    except WingspanError as exc:
        fail(exc)
    click.echo(f"terminating {project}/{domain}/{name}")


def _archive(name: str, archived: bool, project: str, domain: str, output_format: str,
             endpoint: str | None) -> None:
    try:
        with remote_client(endpoint, project, domain) as remote:
            found = remote.archive_execution(name, archived=archived)
    except WingspanError as exc:
        fail(exc)
    if output_format == "table":
        click.echo(f"{'archived' if archived else 'unarchived'} {project}/{domain}/{name}")
    else:
        show(_execution_row(found.aio), output_format, "")


@execution.command()
@click.argument("name")
@project_option
@domain_option
@output_option
@endpoint_option
def archive(name: str, project: str, domain: str, output_format: str, endpoint: str | None) -> None:
    """Archives the ended execution NAME: kept, but listed only with --archived (or a filter on
    state)."""
    _archive(name, True, project, domain, output_format, endpoint)


@execution.command()
@click.argument("name")
@project_option
@domain_option
@output_option
@endpoint_option
def unarchive(name: str, project: str, domain: str, output_format: str, endpoint: str | None) -> None:
    """Lists the archived execution NAME again."""
    _archive(name, False, project, domain, output_format, endpoint)


@execution.command()
@click.argument("name")
@project_option
@domain_option
@output_option
@endpoint_option
def delete(name: str, project: str, domain: str, output_format: str, endpoint: str | None) -> None:
    """Deletes the ended execution NAME with its nodes, events, logs and data (admins only)."""
    try:
        with remote_client(endpoint, project, domain) as remote:
            remote.delete_execution(name)
    except WingspanError as exc:
        fail(exc)
    if output_format == "table":
        click.echo(f"deleted {project}/{domain}/{name}")
    else:
        show({"project": project, "domain": domain, "name": name, "deleted": True}, output_format, "")


@execution.command("show")
@click.argument("name")
@project_option
@domain_option
@output_option
@endpoint_option
def show_execution(name: str, project: str, domain: str, output_format: str, endpoint: str | None) -> None:
    """The execution NAME and its nodes (phase, attempts, cache, seconds, error)."""
    try:
        with remote_client(endpoint, project, domain) as remote:
            found = remote.execution(name)
            nodes = remote.nodes(found)
    except WingspanError as exc:
        fail(exc)
    summary = _execution_row(found.aio)
    settings = found.aio.settings
    if output_format != "table":
        show({**summary, "nodes": nodes, "settings": settings}, output_format, "")
        return
    error = f"  {summary['error']}" if summary["error"] else ""
    show(nodes, output_format, f"{name}  {summary['entity']}  {summary['phase']}{error}")
    if settings:
        show(settings, output_format, "settings (and the level each came from)")


def _again(how: str, name: str, new_name: str, project: str, domain: str, endpoint: str | None) -> None:
    try:
        with remote_client(endpoint, project, domain) as remote:
            started = getattr(remote, how)(name, name=new_name)
    except WingspanError as exc:
        fail(exc)
    click.echo(started.name)
    click.echo(f"{how}ed {project}/{domain}/{name} as {started.name} ({started.phase.name})", err=True)


@execution.command()
@click.argument("name")
@click.option("--name", "new_name", default="", help="The new execution's name (default: generated).")
@project_option
@domain_option
@endpoint_option
def relaunch(name: str, new_name: str, project: str, domain: str, endpoint: str | None) -> None:
    """Starts the entity of execution NAME again with the same inputs; prints the new name."""
    _again("relaunch", name, new_name, project, domain, endpoint)


@execution.command()
@click.argument("name")
@click.option("--name", "new_name", default="", help="The new execution's name (default: generated).")
@project_option
@domain_option
@endpoint_option
def recover(name: str, new_name: str, project: str, domain: str, endpoint: str | None) -> None:
    """Runs the ended execution NAME again, reusing the outputs of its nodes that succeeded;
    prints the new name."""
    _again("recover", name, new_name, project, domain, endpoint)


@click.group()
def signal() -> None:
    """Lists or gives the values that approve and wait_for_input gates wait for."""


@signal.command("list")
@click.argument("execution_name")
@project_option
@domain_option
@output_option
@endpoint_option
def list_signals(execution_name: str, project: str, domain: str, output_format: str,
                 endpoint: str | None) -> None:
    """The gates of EXECUTION_NAME and their values."""
    try:
        with remote_client(endpoint, project, domain) as remote:
            rows = remote.signals(execution_name)
    except WingspanError as exc:
        fail(exc)
    show([{k: v for k, v in row.items() if k != "literal_type"} for row in rows], output_format,
          f"signals of {execution_name}")


@signal.command("set")
@click.argument("execution_name")
@click.argument("name")
@click.argument("value")
@project_option
@domain_option
@endpoint_option
def set_signal(execution_name: str, name: str, value: str, project: str, domain: str,
               endpoint: str | None) -> None:
    """Gives signal NAME of EXECUTION_NAME its VALUE (JSON: true, 3, "text"; bare text for strings)."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    try:
        with remote_client(endpoint, project, domain) as remote:
            remote.set_signal(execution_name, name, parsed)
    except WingspanError as exc:
        fail(exc)
    click.echo(f"signal {name!r} of {execution_name} set to {parsed!r}")
