"""The images registration refers to: each ImageSpec a registered task uses must be in its
registry (built and pushed by ``wingspan build``), or registration is refused before
anything is sent, naming the task, the image and the way to build it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wingspan.core.errors import UserError
from wingspan.core.images.spec import ImageSpec, known_specs

__all__ = ["ensure_images", "specs_used"]


def specs_used(templates: Iterable[tuple[Any, Any]]) -> dict[ImageSpec, list[str]]:
    """The ImageSpecs the (id, TaskTemplate) pairs name, each with the tasks using it."""
    known = known_specs()
    used: dict[ImageSpec, list[str]] = {}
    for task_id, template in templates:
        image = template.container.image if template.container is not None else ""
        if image in known:
            used.setdefault(known[image], []).append(task_id.name)
    return used


def ensure_images(templates: Iterable[tuple[Any, Any]], *, build: bool = False) -> None:
    """Builds (with ``build``) then checks every ImageSpec image the tasks use."""
    from wingspan.core.images.registry import image_exists

    used = specs_used(templates)
    if build and used:
        from wingspan.core.images.builders import choose_builder
        from wingspan.core.plugins.manager import load_plugins

        builder = choose_builder(load_plugins().builders())
        for spec in used:
            builder.build(spec)
    # a spec without a registry names an image of this machine's (a local server's workers run
    # tasks without it): there is no registry to ask
    missing = [(spec, tasks) for spec, tasks in used.items()
               if spec.registry and not image_exists(spec.reference)]
    if missing:
        lines = [f"  {spec.reference} (ImageSpec {spec.name!r}, used by {', '.join(sorted(tasks))})"
                 for spec, tasks in missing]
        raise UserError("these images are not in their registries:\n" + "\n".join(lines)
                        + "\nbuild and push them first with `wingspan build <file>`, or register "
                        "with --build-images")
