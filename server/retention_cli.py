"""``wingspan retention``: one retention run on the server's host, or with ``--dry-run`` the
list of what it would delete.

The scheduler role of ``wingspan serve`` runs retention every ``retention_interval_seconds``;
this command opens the server's database and blob store itself (``--home``, ``--config``, or
``WINGSPAN_*`` as for ``wingspan serve``), so an operator can see what a project's retention
will remove before it does, or apply it now.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from wingspan.core.config import Settings
from wingspan.core.errors import WingspanError

__all__ = ["retention"]


@click.command()
@click.option("--dry-run", is_flag=True, help="delete nothing: list the executions that would go")
@click.option("-o", "--output", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--home", type=click.Path(path_type=Path), help="the server's WINGSPAN_HOME")
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="the server's TOML config file")
def retention(dry_run: bool, output_format: str, home: Path | None, config_file: Path | None) -> None:
    """Delete the finished executions older than their project's retention, with their data,
    logs and the cache entries no other execution uses (on the server's host)."""
    from wingspan.server.services.admin import AdminService
    from wingspan.server.services.retention import RetentionRun

    async def run() -> RetentionRun:
        settings = Settings.load({"home": home} if home else {}, config_file=config_file)
        async with await AdminService.open(settings) as admin:
            return await admin.prune(batch=settings.retention_batch, dry_run=dry_run)

    try:
        done = asyncio.run(run())
    except WingspanError as exc:
        raise click.ClickException(str(exc)) from exc
    rows = [{"execution": f"{e.id.project}/{e.id.domain}/{e.id.name}",
             "finished": e.finished_at.isoformat(timespec="seconds"),
             "cache_entries": e.cache_entries, "kept_cache_entries": e.kept_cache_entries}
            for e in done.executions]
    if output_format == "json":
        click.echo(json.dumps({"dry_run": dry_run, "executions": rows}, indent=2))
        return
    for row in rows:
        click.echo(f"{row['execution']}  finished {row['finished']}  cache entries: "
                   f"{row['cache_entries']} go, {row['kept_cache_entries']} kept (used by others)")
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"retention {verb} {len(rows)} finished executions", err=True)
