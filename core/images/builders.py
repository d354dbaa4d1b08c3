"""Who builds and pushes an ImageSpec's image: any ``ImageBuilder`` a plugin gives through
the ``wingspan_image_builders`` hook, and buildah, built in, which needs no daemon (it runs
as root or in a user namespace, with the vfs storage driver where overlay is not allowed).
"""

from __future__ import annotations

import abc
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wingspan.core.errors import UserError
from wingspan.core.images.containerfile import write_context
from wingspan.core.images.spec import ImageSpec
from wingspan.core.loopback import is_loopback

__all__ = ["BuildahBuilder", "ImageBuilder", "choose_builder"]


class ImageBuilder(abc.ABC):
    """Builds an ImageSpec's image from its rendered build context and pushes it."""

    #: what ``wingspan build --builder`` calls it
    name: str

    @abc.abstractmethod
    def unavailable(self) -> str:
        """Why it cannot build on this machine (e.g. its program is missing); empty if it can."""

    @abc.abstractmethod
    def build_and_push(self, spec: ImageSpec, context: Path, build_file: Path) -> None:
        """Builds ``spec.reference`` from ``context`` and pushes it to its registry (a spec
        without a registry is built for this machine only); raises UserError naming the image
        and the builder's own message when either fails."""

    def build(self, spec: ImageSpec) -> None:
        """Renders the spec's build context in a temporary folder and builds from it."""
        with tempfile.TemporaryDirectory(prefix="wingspan-image-") as folder:
            build_file = write_context(spec, Path(folder))
            self.build_and_push(spec, Path(folder), build_file)


def _plain_http(reference: str) -> bool:
    """A registry on this machine is spoken to over plain HTTP (as a test or dev registry is)."""
    host = reference.split("/", 1)[0] if "/" in reference else ""
    return bool(host) and is_loopback(host.rsplit(":", 1)[0])


class BuildahBuilder(ImageBuilder):
    """``buildah bud`` then ``buildah push``. ``WINGSPAN_BUILDAH_STORAGE_DRIVER`` chooses the
    storage driver (default vfs: it works without overlay mounts or fuse), and
    ``WINGSPAN_BUILDAH_ROOT`` a storage folder other than buildah's default. A registry or base
    image on this machine (a loopback host) is spoken to over plain HTTP."""

    name = "buildah"

    def __init__(self, program: str = "buildah") -> None:
        self.program = program

    def unavailable(self) -> str:
        if shutil.which(self.program) is None:
            return f"{self.program} is not installed (on Debian: apt-get install buildah)"
        return ""

    def _run(self, spec: ImageSpec, step: str, args: Sequence[str]) -> None:
        driver = os.environ.get("WINGSPAN_BUILDAH_STORAGE_DRIVER", "vfs")
        # WINGSPAN_BUILDAH_ROOT: a storage folder of its own (buildah's default is system-wide)
        root = os.environ.get("WINGSPAN_BUILDAH_ROOT", "")
        storage = ["--root", root, "--runroot", os.path.join(root, "run")] if root else []
        command = [self.program, *storage, "--storage-driver", driver, *args]
        env = {**os.environ, "BUILDAH_ISOLATION": os.environ.get("BUILDAH_ISOLATION", "chroot")}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
            raise UserError(f"buildah could not {step} image {spec.reference} (exit "
                            f"{done.returncode}):\n{tail}")

    def build_and_push(self, spec: ImageSpec, context: Path, build_file: Path) -> None:
        tls = ["--tls-verify=false"] if _plain_http(spec.reference) or _plain_http(spec.base) else []
        self._run(spec, "build", ["bud", "--network", "host", *tls, "-f", str(build_file),
                                  "-t", spec.reference, str(context)])
        if not spec.registry:  # an image for this machine only: there is nowhere to push it
            return
        push_tls = ["--tls-verify=false"] if _plain_http(spec.reference) else []
        self._run(spec, "push", ["push", *push_tls, spec.reference])


def choose_builder(builders: Sequence[ImageBuilder], name: str = "") -> ImageBuilder:
    """The builder named ``name``, else the first that can build here (plugins' before the
    built-in); UserError listing each and why it cannot, when none can."""
    if name:
        for builder in builders:
            if builder.name == name:
                reason = builder.unavailable()
                if reason:
                    raise UserError(f"image builder {name!r} cannot build here: {reason}")
                return builder
        raise UserError(f"no image builder is named {name!r}; there are: "
                        f"{', '.join(b.name for b in builders) or 'none'}")
    reasons = []
    for builder in builders:
        reason = builder.unavailable()
        if not reason:
            return builder
        reasons.append(f"{builder.name}: {reason}")
    raise UserError("no image builder can build here (" + "; ".join(reasons) + "): install one, "
                    "or a plugin that gives one through the wingspan_image_builders hook")
