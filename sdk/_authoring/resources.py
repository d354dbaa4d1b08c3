"""Resource requests and limits, and secrets a task may read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from typing import Literal as TypingLiteral

from wingspan.core.model.tasks import ResourceSet, SecretMount
from wingspan.core.model.tasks import Secret as SecretModel

__all__ = ["Resources", "Secret"]

# Kubernetes quantities: "1", "0.5", "500m", "1Gi", "2G", "1e3"
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


def _quantity(name: str, value: str | int | float | None) -> tuple[str, str | None]:
    """The quantity as text, and a problem description when it is not one."""
    if value is None:
        return "", None
    text = str(value).strip()
    if isinstance(value, bool) or not _QUANTITY.match(text):
        return text, (f"{name}={value!r} is not a resource quantity "
                      "(examples: cpu='500m' or 2, mem='1Gi', gpu=1)")
    return text, None


@dataclass(frozen=True)
class Resources:
    """``Resources(cpu="1", mem="2Gi", gpu=1, ephemeral_storage="10Gi")``; any may be left out."""

    cpu: str | int | float | None = None
    mem: str | None = None
    gpu: str | int | None = None
    ephemeral_storage: str | None = None

    def problems(self) -> list[str]:
        return [p for n, v in self._fields() if (p := _quantity(n, v)[1])]

    def _fields(self) -> list[tuple[str, str | int | float | None]]:
        return [("cpu", self.cpu), ("mem", self.mem), ("gpu", self.gpu),
                ("ephemeral_storage", self.ephemeral_storage)]

    def to_model(self) -> ResourceSet:
        text = {n: _quantity(n, v)[0] for n, v in self._fields()}
        return ResourceSet(cpu=text["cpu"], memory=text["mem"], gpu=text["gpu"],
                           ephemeral_storage=text["ephemeral_storage"])


class _MountType:
    """flytekit's ``Secret.MountType`` names for the mounts."""

    ANY = "any"
    ENV_VAR = "env"
    FILE = "file"


@dataclass(frozen=True)
class Secret:
    """A secret the task reads with ``current_context().secrets.get(group, key)`` (its value)
    or ``.get_file(group, key)`` (a file's path); ``mount="file"`` mounts it as a file where
    the target can (a pod), ``"env"`` as an environment variable."""

    group: str
    key: str
    mount: TypingLiteral["any", "env", "file"] = "any"
    # flytekit's spelling: Secret(group, key, mount_requirement=Secret.MountType.FILE)
    mount_requirement: str | None = None

    MountType: ClassVar[type[_MountType]] = _MountType

    def __post_init__(self) -> None:
        if self.mount_requirement is not None:
            object.__setattr__(self, "mount", self.mount_requirement)

    def problems(self) -> list[str]:
        found = []
        if not self.group or not self.key:
            found.append(f"Secret(group={self.group!r}, key={self.key!r}) needs a group and a key")
        if self.mount not in ("any", "env", "file"):
            found.append(f"Secret mount {self.mount!r} is not one of 'any', 'env', 'file'")
        return found

    def to_model(self) -> SecretModel:
        mount = {"any": SecretMount.ANY, "env": SecretMount.ENV, "file": SecretMount.FILE}
        return SecretModel(self.group, self.key, mount.get(self.mount, SecretMount.ANY))
