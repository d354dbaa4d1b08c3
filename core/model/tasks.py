"""Task templates: everything needed to run one task attempt anywhere."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from wingspan.core.model.interface import Identifier, TypedInterface
from wingspan.core.model.literals import LiteralMap

__all__ = [
    "CacheSettings",
    "CodeReference",
    "Container",
    "KeyValue",
    "ResourceSet",
    "Resources",
    "Secret",
    "SecretMount",
    "TaskMetadata",
    "TaskTemplate",
]


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str = ""
    value: str = ""


@dataclass(frozen=True, slots=True)
class ResourceSet:
    cpu: str = ""
    memory: str = ""
    gpu: str = ""
    ephemeral_storage: str = ""


@dataclass(frozen=True, slots=True)
class Resources:
    requests: ResourceSet | None = None
    limits: ResourceSet | None = None


class SecretMount(enum.IntEnum):
    ANY = 0
    ENV = 1
    FILE = 2


@dataclass(frozen=True, slots=True)
class Secret:
    group: str = ""
    key: str = ""
    mount: SecretMount = SecretMount.ANY


@dataclass(frozen=True, slots=True)
class Container:
    image: str = ""
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    env: tuple[KeyValue, ...] = ()
    resources: Resources | None = None
    input_dir: str = ""
    output_dir: str = ""


@dataclass(frozen=True, slots=True)
class CacheSettings:
    enabled: bool = False
    version: str = ""
    serialize: bool = False
    ignored_inputs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskMetadata:
    retries: int = 0
    timeout: timedelta | None = None
    cache: CacheSettings | None = None
    interruptible: bool = False
    docs: str = ""
    runtime: str = ""


@dataclass(frozen=True, slots=True)
class CodeReference:
    module: str = ""
    qualname: str = ""
    bundle_uri: str = ""
    source_digest: str = ""


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    id: Identifier | None = None
    type: str = ""
    metadata: TaskMetadata | None = None
    interface: TypedInterface | None = None
    container: Container | None = None
    secrets: tuple[Secret, ...] = ()
    custom: LiteralMap | None = None
    code: CodeReference | None = None
    custom_version: int = 0
