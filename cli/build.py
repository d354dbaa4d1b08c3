"""``wingspan build``: build and push every ImageSpec image the tasks of a file use."""

from __future__ import annotations

import click

from wingspan.core.errors import WingspanError

__all__ = ["build"]


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--builder", default="", help="The image builder to use (default: the first that can "
              "build here; `wingspan plugins` lists them).")
@click.option("--dry-run", is_flag=True, help="Print each image's build file instead of building it.")
def build(path: str, builder: str, dry_run: bool) -> None:
    """Builds and pushes the ImageSpec images the tasks in the file PATH use."""
    from wingspan._registration.discovery import load_entities
    from wingspan.core.images.builders import choose_builder
    from wingspan.core.images.containerfile import render
    from wingspan.core.images.spec import known_specs

    try:
        load_entities(path)
        specs = known_specs()
        if not specs:
            click.echo(f"no task in {path} uses an ImageSpec: nothing to build")
            return
        if dry_run:
            for reference, spec in specs.items():
                click.echo(f"# {reference}\n{render(spec)}")
            return
        from wingspan.core.plugins.manager import load_plugins

        chosen = choose_builder(load_plugins().builders(), builder)
        for reference, spec in specs.items():
            click.echo(f"building {reference} with {chosen.name}...")
            chosen.build(spec)
            click.echo(f"pushed {reference}" if spec.registry
                       else f"built {reference} (no registry given: kept on this machine)")
    except WingspanError as exc:
        raise click.ClickException(str(exc)) from exc
