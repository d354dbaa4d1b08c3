"""``wingspan cache clear``: empties the local task cache (``$WINGSPAN_HOME/cache``)."""

from __future__ import annotations

import click

__all__ = ["cache"]


@click.group()
def cache() -> None:
    """The local task cache (catalog)."""


@cache.command("clear")
def clear() -> None:
    """Removes every cached task output (and reservation) from the local catalog."""
    import anyio

    from wingspan.core.catalog.sqlite import SqliteCatalog
    from wingspan.core.config import Settings

    path = Settings.load().home / "cache" / "catalog.sqlite"
    if not path.exists():
        click.echo(f"the cache is empty ({path} does not exist)")
        return

    async def empty() -> int:
        catalog = SqliteCatalog(path)
        try:
            return await catalog.clear()
        finally:
            await catalog.aclose()

    count = anyio.run(empty)
    click.echo(f"removed {count} cached output{'s' if count != 1 else ''} from {path}")
