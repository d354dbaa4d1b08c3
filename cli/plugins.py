"""``wingspan plugins list``: every plugin, its version and what it provides; the plugins
that failed to load, each with its error."""

from __future__ import annotations

import json

import click

__all__ = ["plugins"]


@click.group()
def plugins() -> None:
    """Installed plugins (entry-point group "wingspan")."""


@plugins.command("list")
@click.option("-o", "--output", "output_format", type=click.Choice(["table", "json"]), default="table",
              help="A table for people, JSON for scripts.")
def list_plugins(output_format: str) -> None:
    """Lists each plugin, its version and what it provides, and those that failed to load."""
    from wingspan.core.plugins.manager import load_plugins

    found = load_plugins()
    if output_format == "json":
        click.echo(json.dumps({
            "loaded": [{"name": p.name, "distribution": p.distribution, "version": p.version,
                        "provides": {k: list(v) for k, v in p.provides.items() if v}} for p in found.loaded],
            "failed": [{"name": f.name, "distribution": f.distribution, "version": f.version,
                        "stage": f.stage, "error": f.error} for f in found.failed],
        }, indent=2))
        return
    rows = [(p.name, p.distribution, p.version or "-", p.summary()) for p in found.loaded]
    header = ("PLUGIN", "DISTRIBUTION", "VERSION", "PROVIDES")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header[:3])]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    if found.failed:
        click.echo()
        click.secho(f"{len(found.failed)} plugin(s) failed to load:", fg="red", err=True)
        for failure in found.failed:
            where = f"{failure.distribution} {failure.version}".strip() or "?"
            click.secho(f"  {failure.name} ({where}), at {failure.stage}: {failure.error}", fg="red",
                        err=True)
