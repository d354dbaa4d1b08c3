"""Images declared in code (``ImageSpec``): the spec and its digest tag, the build file it
renders, the builders that build and push it (the ``wingspan_image_builders`` hook, and
buildah built in) and the registry check registration makes."""

from __future__ import annotations

from wingspan.core.images.spec import ImageSpec, known_specs

__all__ = ["ImageSpec", "known_specs"]
